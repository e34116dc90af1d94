import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { projectRoot } from "./next-server";

/**
 * Every page and route handler of the app, read from app/ when a test runs, so that a route
 * added tomorrow is covered by the tests that walk this list without anyone adding it there.
 */

export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface AppRoute {
  kind: "page" | "route";
  /** The source file, from the project root ("app/api/health/route.ts"). */
  file: string;
  /** The URL pattern: route groups dropped, dynamic segments kept ("/api/admin/runs/[id]"). */
  pattern: string;
  /** Route handlers: the HTTP methods the file exports. Pages: GET. */
  methods: HttpMethod[];
}

const appDir = join(projectRoot, "app");

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else out.push(path);
  }
  return out;
}

/** The methods a route file exports: `export async function GET`, `export function POST`, `export const PUT =`, `export { x as DELETE }`. */
export function exportedMethods(source: string): HttpMethod[] {
  const found = new Set<HttpMethod>();
  for (const method of HTTP_METHODS) {
    const declared = new RegExp(`export\\s+(?:async\\s+)?(?:function\\s*\\*?\\s*|const\\s+|let\\s+|var\\s+)${method}\\b`);
    const reexported = new RegExp(`export\\s*\\{[^}]*\\b(?:as\\s+)?${method}\\b[^}]*\\}`);
    if (declared.test(source) || reexported.test(source)) found.add(method);
  }
  return HTTP_METHODS.filter((m) => found.has(m));
}

export function appRoutes(): AppRoute[] {
  const routes: AppRoute[] = [];
  for (const path of walk(appDir)) {
    const name = path.slice(path.lastIndexOf(sep) + 1);
    const kind = /^page\.(tsx|ts|jsx|js|mdx)$/.test(name) ? "page" : /^route\.(ts|js)$/.test(name) ? "route" : null;
    if (!kind) continue;
    const dirs = relative(appDir, path).split(sep).slice(0, -1);
    // (group) folders are not in the URL; @slot and _private folders hold no URL of their own.
    const urlParts = dirs.filter((d) => !/^\(.*\)$/.test(d) && !d.startsWith("@"));
    if (dirs.some((d) => d.startsWith("_"))) continue;
    routes.push({
      kind,
      file: relative(projectRoot, path),
      pattern: `/${urlParts.join("/")}`,
      methods: kind === "page" ? ["GET"] : exportedMethods(readFileSync(path, "utf8")),
    });
  }
  return routes;
}

/**
 * The URL of a route with its dynamic segments filled from `values` (keyed by the segment with
 * the folder before it, "runs/[id]", or by the bare segment, "[jobName]"). A segment without a
 * value throws, naming it: a new dynamic route needs a real value in the test that walks it.
 */
export function fillRoute(route: AppRoute, values: Record<string, string>): string {
  return route.pattern.replace(/\[(?:\.\.\.)?[^\]]+\]/g, (part, offset: number) => {
    const before = route.pattern.slice(0, offset).split("/").filter(Boolean).pop() ?? "";
    const value = values[`${before}/${part}`] ?? values[part];
    if (value === undefined) throw new Error(`${route.file}: no test value for the segment ${part} (give one for "${before}/${part}" or "${part}")`);
    return encodeURIComponent(value);
  });
}
