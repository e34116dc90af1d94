import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layout's rules, read from the source tree: SQL lives in lib/db (and drizzle/), the engine
 * imports nothing framework-bound, dependencies point inward
 * (app, scripts -> lib/http -> lib/app -> lib/db, lib/alerts -> lib/cron), and pages never import
 * a route module. Each rule lists the files that break it, so a failure says where to look.
 */

const root = resolve(import.meta.dirname, "../..");

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|tsx|mjs)$/.test(name)) out.push(path);
  }
  return out;
}

const SOURCE_DIRS = ["app", "components", "lib", "scripts"];
const files = SOURCE_DIRS.flatMap(sourceFiles).map((path) => ({ path, text: readFileSync(join(root, path), "utf8") }));

/** Import specifiers of a file, resolved to a path from the project root ("lib/db/client") or left as a package name. */
function importsOf(file: { path: string; text: string }): string[] {
  const specs = [...file.text.matchAll(/(?:from\s+|import\(\s*|^import\s+)["']([^"']+)["']/gm)].map((m) => m[1]);
  return specs.map((spec) => {
    if (spec.startsWith("@/")) return spec.slice(2);
    if (spec.startsWith(".")) return relative(root, resolve(root, file.path, "..", spec));
    return spec;
  });
}

const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);
const offenders = (test: (f: { path: string; text: string }) => boolean) => files.filter(test).map((f) => f.path).sort();

describe("layering", () => {
  it("reads the tree (the rules below would pass vacuously otherwise)", () => {
    expect(files.some((f) => f.path === "lib/cron/run-job.ts")).toBe(true);
    expect(files.some((f) => f.path === "lib/db/client.ts")).toBe(true);
  });

  it("keeps SQL in lib/db: no drizzle-orm import and no SQL statement outside it", () => {
    const SQL_RE = /\b(SELECT\s+[\w*(]|INSERT\s+INTO\b|UPDATE\s+\w+\s+(\w+\s+)?SET\b|DELETE\s+FROM\b)/;
    expect(offenders((f) => !under(f.path, "lib/db") && (importsOf(f).some((i) => i.startsWith("drizzle-orm")) || SQL_RE.test(f.text)))).toEqual([]);
  });

  it("keeps the engine framework-free: lib/cron imports only lib/cron, node built-ins and zod", () => {
    const allowed = (i: string) => under(i, "lib/cron") || i.startsWith("node:") || i === "zod";
    expect(offenders((f) => under(f.path, "lib/cron") && importsOf(f).some((i) => !allowed(i)))).toEqual([]);
  });

  it("keeps Next.js at the edge: only lib/http and the dashboard's session helpers import next/*", () => {
    const allowed = (path: string) => under(path, "lib/http") || path === "lib/dashboard/session.ts";
    expect(offenders((f) => under(f.path, "lib") && !allowed(f.path) && importsOf(f).some((i) => i === "next" || i.startsWith("next/")))).toEqual([]);
  });

  it("points dependencies inward", () => {
    const rules: Array<[string, string[]]> = [
      ["lib/db", ["lib/app", "lib/http", "lib/alerts", "lib/dashboard", "app", "components", "scripts"]],
      ["lib/alerts", ["lib/app", "lib/http", "app", "components", "scripts"]],
      ["lib/app", ["lib/http", "app", "components", "scripts"]],
      ["lib/vercel", ["lib/app", "lib/http", "lib/db", "app", "scripts"]],
      ["lib/http", ["app", "components", "scripts"]],
      ["scripts", ["lib/http", "app", "components"]],
      ["app/dashboard", ["lib/http"]],
    ];
    const broken = rules.flatMap(([layer, forbidden]) =>
      files
        .filter((f) => under(f.path, layer))
        .flatMap((f) => importsOf(f).filter((i) => forbidden.some((dir) => under(i, dir))).map((i) => `${f.path} -> ${i}`)),
    );
    expect(broken).toEqual([]);
  });

  it("parses the environment in lib/env.ts only (the embedded-database lock reads npm's and Next's process labels to name its owner)", () => {
    const allowed = new Set(["lib/env.ts", "lib/db/embedded-lock.ts"]);
    expect(offenders((f) => under(f.path, "lib") && !allowed.has(f.path) && /process\.env\b/.test(f.text))).toEqual([]);
  });

  it("imports no route module anywhere: route files are leaves", () => {
    expect(offenders((f) => importsOf(f).some((i) => /(^|\/)route$/.test(i) && under(i, "app")))).toEqual([]);
  });
});
