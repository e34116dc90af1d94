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
  /** Route handlers: the HTTP methods the file serves (exports, minus those it refuses). Pages: GET. */
  methods: HttpMethod[];
  /** Route handlers: the methods the file exports only to refuse them (405 JSON with Allow, lib/http/methods.ts). */
  refused: HttpMethod[];
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

/** The methods a route file exports: `export async function GET`, `export function POST`, `export const PUT =`, `export { x as DELETE }`, `export const { PUT, PATCH } = ...`. */
export function exportedMethods(source: string): HttpMethod[] {
  const found = new Set<HttpMethod>(refusedMethods(source));
  const destructured = [...source.matchAll(/export\s+const\s*\{([^}]*)\}\s*=/g)].map((m) => m[1]).join(",");
  for (const method of HTTP_METHODS) {
    const declared = new RegExp(`export\\s+(?:async\\s+)?(?:function\\s*\\*?\\s*|const\\s+|let\\s+|var\\s+)${method}\\b`);
    const reexported = new RegExp(`export\\s*\\{[^}]*\\b(?:as\\s+)?${method}\\b[^}]*\\}`);
    if (declared.test(source) || reexported.test(source) || new RegExp(`\\b${method}\\b`).test(destructured)) found.add(method);
  }
  return HTTP_METHODS.filter((m) => found.has(m));
}

/** The methods a route file exports to refuse: `export const { PUT, PATCH } = refuseOtherMethods(...)`, `export const HEAD = methodNotAllowed`. */
export function refusedMethods(source: string): HttpMethod[] {
  const names = [...source.matchAll(/export\s+const\s*\{([^}]*)\}\s*=\s*refuseOtherMethods\(/g)].flatMap((m) => m[1].split(",").map((n) => n.trim()));
  for (const m of source.matchAll(/export\s+const\s+([A-Z]+)\s*=\s*methodNotAllowed\b/g)) names.push(m[1]);
  return HTTP_METHODS.filter((m) => names.includes(m));
}

function servedAndRefused(source: string): { methods: HttpMethod[]; refused: HttpMethod[] } {
  const refused = refusedMethods(source);
  return { methods: exportedMethods(source).filter((m) => !refused.includes(m)), refused };
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
      ...(kind === "page" ? { methods: ["GET"] as HttpMethod[], refused: [] } : servedAndRefused(readFileSync(path, "utf8"))),
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
  return route.pattern.replace(/\[\[\.\.\.[^\]]+\]\]|\[(?:\.\.\.)?[^\]]+\]/g, (part, offset: number) => {
    const before = route.pattern.slice(0, offset).split("/").filter(Boolean).pop() ?? "";
    const value = values[`${before}/${part}`] ?? values[part];
    if (value === undefined) throw new Error(`${route.file}: no test value for the segment ${part} (give one for "${before}/${part}" or "${part}")`);
    // A catch-all takes several segments: each is encoded, the slashes between them kept.
    return part.includes("...") ? value.split("/").map(encodeURIComponent).join("/") : encodeURIComponent(value);
  });
}
