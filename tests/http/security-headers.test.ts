import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRoutes, fillRoute, HTTP_METHODS, type AppRoute, type HttpMethod } from "../support/app-routes";
import { rawRequest, type RawReply } from "../support/http";
import { ISOLATED_VARIABLES, startNextServer, type NextServer } from "../support/next-server";

/**
 * The hardened headers on every response of `next start`: every page and route handler found
 * in app/ when the test runs (so a new one cannot be missed), each method it exports plus HEAD
 * and one it does not, anonymous and signed in, with real job names, run and dead-letter ids;
 * plus the login form and JSON posts, a client navigation, a prefetch, 404s and a static file.
 * On the embedded database (PGlite in a temporary directory): no Postgres server needed.
 *
 * What each response must carry: X-Content-Type-Options nosniff, Referrer-Policy same-origin
 * (or stricter), X-Frame-Options DENY, no X-Powered-By; documents and API answers a CSP with
 * frame-ancestors 'none'; HTML pages a script policy with a nonce that is new on each request
 * and is on every script of the page (so Next.js really rendered it for that request); the
 * dashboard and the API Cache-Control no-store; the cron execute route never a redirect.
 */

const ADMIN_TOKEN = `admin-${randomBytes(24).toString("hex")}`;
const CRON_SECRET = `cron-${randomBytes(24).toString("hex")}`;
const REFERRER_POLICIES = ["same-origin", "no-referrer"];

type Who = "anonymous" | "signed in";

/** The CSP directives of a header value, by name (the first occurrence wins, as in browsers). */
function directives(policy: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of policy.split(";")) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name && !out.has(name.toLowerCase())) out.set(name.toLowerCase(), values);
  }
  return out;
}

const header = (reply: RawReply, name: string): string | undefined => {
  const value = reply.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
};

describe("security headers on every page and API route", () => {
  let server: NextServer;
  let dataDir: string;
  let cookie = "";
  /** Real values for the dynamic segments, keyed as fillRoute looks them up. */
  const values: Record<string, string> = {};
  const seenNonces = new Set<string>();
  const counts = { requests: 0, checks: 0, cases: new Set<string>() };

  /** One assertion, counted. */
  function check(condition: boolean, what: string, reply: RawReply): void {
    counts.checks++;
    expect(condition, `${what}; headers: ${JSON.stringify(reply.headers)}`).toBe(true);
  }

  /**
   * The headers every response must have, and those of its kind. `document`: an HTML page
   * rendered by the app (GET or HEAD). `api`: an answer of a route handler (or a 404 under /api).
   */
  function checkHeaders(label: string, path: string, reply: RawReply, method: string): void {
    counts.requests++;
    const type = header(reply, "content-type") ?? "";
    check(header(reply, "x-content-type-options") === "nosniff", `${label}: X-Content-Type-Options nosniff`, reply);
    check(REFERRER_POLICIES.includes(header(reply, "referrer-policy") ?? ""), `${label}: Referrer-Policy same-origin or stricter`, reply);
    check(header(reply, "x-powered-by") === undefined, `${label}: no X-Powered-By`, reply);
    check(header(reply, "x-frame-options") === "DENY", `${label}: X-Frame-Options DENY`, reply);

    const isApi = path.startsWith("/api/");
    const isDocument = !isApi && type.startsWith("text/html");
    if (isApi || isDocument) {
      const policy = header(reply, "content-security-policy") ?? "";
      const csp = directives(policy);
      check(csp.get("frame-ancestors")?.join(" ") === "'none'", `${label}: CSP frame-ancestors 'none' (got ${JSON.stringify(policy)})`, reply);
      // Two policies would both apply (the stricter wins per directive): one source sets it.
      check(!policy.includes(","), `${label}: one CSP header`, reply);
      if (isApi) {
        check(csp.get("default-src")?.join(" ") === "'none'", `${label}: API CSP default-src 'none'`, reply);
      } else {
        const script = csp.get("script-src") ?? [];
        const nonces = script.filter((v) => /^'nonce-[A-Za-z0-9+/=_-]{16,}'$/.test(v));
        check(nonces.length === 1, `${label}: script-src has one nonce (got ${script.join(" ")})`, reply);
        check(script.includes("'strict-dynamic'"), `${label}: script-src 'strict-dynamic'`, reply);
        check(!script.includes("'unsafe-inline'") && !script.includes("'unsafe-eval'"), `${label}: no unsafe-inline or unsafe-eval for scripts in production`, reply);
        check(csp.get("object-src")?.join(" ") === "'none'", `${label}: object-src 'none'`, reply);
        check(["'none'", "'self'"].includes(csp.get("base-uri")?.join(" ") ?? ""), `${label}: base-uri 'none' or 'self'`, reply);
        check(csp.get("form-action")?.join(" ") === "'self'", `${label}: form-action 'self'`, reply);
        const nonce = nonces[0]?.slice("'nonce-".length, -1) ?? "";
        check(!seenNonces.has(nonce), `${label}: a nonce never sent before`, reply);
        seenNonces.add(nonce);
        if (method !== "HEAD") {
          // Next.js put this request's nonce on every script it rendered: the page was rendered
          // for this request, not prerendered at build time (whose scripts the policy refuses).
          const scripts = reply.text.match(/<script\b[^>]*>/g) ?? [];
          check(scripts.length > 0, `${label}: the page has scripts`, reply);
          const bare = scripts.filter((tag) => !tag.includes(` nonce="${nonce}"`));
          check(bare.length === 0, `${label}: every <script> carries the nonce (without: ${bare.slice(0, 2).join(" ")})`, reply);
          const styles = (reply.text.match(/<style\b[^>]*>/g) ?? []).filter((tag) => !tag.includes(` nonce="${nonce}"`));
          check(styles.length === 0, `${label}: every <style> carries the nonce (without: ${styles.slice(0, 2).join(" ")})`, reply);
        }
      }
    }

    // Admin pages and every API answer: not kept by the browser or a shared cache, and no other
    // Cache-Control directive says otherwise.
    if (isApi || path.startsWith("/dashboard/admin")) {
      const cache = (header(reply, "cache-control") ?? "").split(",").map((d) => d.trim().toLowerCase());
      check(cache.includes("no-store"), `${label}: Cache-Control no-store (got ${header(reply, "cache-control")})`, reply);
      check(!cache.some((d) => d === "public" || d === "immutable" || /^(s-maxage|max-age)=[1-9]/.test(d)), `${label}: no Cache-Control directive that allows caching`, reply);
    }
    if (path.startsWith("/api/cron/execute/")) check(reply.status < 300 || reply.status >= 400, `${label}: the execute route never redirects (got ${reply.status})`, reply);
  }

  /** The credentials a signed-in caller of this path sends: the session cookie (same Origin) in the dashboard and admin API, the cron secret on the cron API. */
  function credentials(path: string, who: Who): Record<string, string> {
    if (who === "anonymous") return {};
    if (path.startsWith("/api/cron/")) return { authorization: `Bearer ${CRON_SECRET}` };
    return { cookie, origin: server.url };
  }

  /** A JSON body for the methods that take one: real enough to get past parsing where the route needs little. */
  function bodyFor(route: AppRoute, method: HttpMethod): unknown {
    if (method === "GET" || method === "HEAD" || method === "OPTIONS") return undefined;
    if (route.pattern === "/api/admin/session" && method === "POST") return { token: ADMIN_TOKEN };
    if (route.pattern.endsWith("/notes")) return { notes: "checked by the security-headers test" };
    return {};
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "crondeck-headers-"));
    server = await startNextServer({
      env: {
        // Blank, not just absent: `next start` fills a missing variable from a developer's
        // .env.local (a database, a public URL the origin check would compare with, alert sinks).
        ...Object.fromEntries([...ISOLATED_VARIABLES, "TRUST_PROXY", "VERCEL_URL"].map((name) => [name, ""])),
        PGLITE_DIR: join(dataDir, "pglite"),
        ADMIN_TOKEN,
        CRON_SECRET,
        CRON_DEMO: "1",
        CRON_DEMO_SLOW_MS: "100",
        // demo-stubborn times out at 1 s and lets go soon after: a dead letter to point at.
        CRON_DEMO_STUBBORN_MS: "1100",
      },
    });
    const login = await rawRequest(server.url, "POST", "/api/admin/session", { headers: { origin: server.url }, body: { token: ADMIN_TOKEN } });
    expect(login.status, login.text).toBe(200);
    cookie = login.setCookie[0]!.split(";")[0]!;

    // Real values for [jobName], runs/[id] and dead-letter-queue/[id].
    const jobs = await rawRequest(server.url, "GET", "/api/cron/jobs", { headers: { authorization: `Bearer ${CRON_SECRET}` } });
    expect(jobs.status, jobs.text).toBe(200);
    const names: string[] = jobs.body.jobs.map((j: { name: string }) => j.name);
    expect(names).toContain("demo-stubborn");
    values["[jobName]"] = names[0]!;
    // The catch-all under /api (app/api/[[...path]]): a path no other route file serves.
    values["[[...path]]"] = "no/such/route";
    const run = await rawRequest(server.url, "POST", "/api/cron/execute/demo-stubborn", { headers: { authorization: `Bearer ${CRON_SECRET}` } });
    expect(run.body?.execution?.id, run.text).toMatch(/^[0-9a-f-]{36}$/);
    values["runs/[id]"] = run.body.execution.id;
    const dead = await rawRequest(server.url, "GET", "/api/admin/dead-letter-queue", { headers: { cookie } });
    const entry = dead.body?.entries?.find((e: { runId: string }) => e.runId === run.body.execution.id);
    expect(entry?.id, dead.text).toMatch(/^[0-9a-f-]{36}$/);
    values["dead-letter-queue/[id]"] = entry.id;
    // A backfill of one past slot of demo-pulse (every minute): its GET answers 200.
    const slot = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    const range = { from: new Date(slot).toISOString(), to: new Date(slot + 30_000).toISOString() };
    const backfill = await rawRequest(server.url, "POST", "/api/admin/cron-jobs/demo-pulse/backfill", { headers: { cookie, origin: server.url, "content-type": "application/json" }, body: range });
    expect(backfill.body?.backfillId, backfill.text).toMatch(/^[0-9a-f-]{36}$/);
    values["backfills/[id]"] = backfill.body.backfillId;
    // A personal API token: its DELETE revokes a real one.
    const token = await rawRequest(server.url, "POST", "/api/admin/tokens", { headers: { cookie, origin: server.url, "content-type": "application/json" }, body: { name: "security headers", role: "viewer" } });
    expect(token.body?.token?.id, token.text).toMatch(/^[0-9a-f-]{36}$/);
    values["tokens/[id]"] = token.body.token.id;
  });

  afterAll(async () => {
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    console.log(
      `[security-headers] ${counts.cases.size} route × method × caller cases, ${counts.requests} responses, ${counts.checks} header checks, ${seenNonces.size} distinct nonces`,
    );
  });

  it("finds the app's pages and route handlers in app/", () => {
    const routes = appRoutes();
    expect(routes.filter((r) => r.kind === "page").length).toBeGreaterThanOrEqual(8);
    expect(routes.filter((r) => r.kind === "route").length).toBeGreaterThanOrEqual(20);
    for (const route of routes) expect(route.methods.length, `${route.file} exports no method`).toBeGreaterThan(0);
  });

  it("every page and route, every method it exports plus HEAD and one it does not, anonymous and signed in", async () => {
    const routes = appRoutes();
    const plan: { route: AppRoute; method: HttpMethod; who: Who }[] = [];
    for (const route of routes) {
      const methods = new Set<HttpMethod>(route.methods);
      // Next.js answers HEAD with GET's handler, and a method no handler exports itself (405).
      if (methods.has("GET")) methods.add("HEAD");
      const unexported = HTTP_METHODS.find((m) => !methods.has(m) && m !== "HEAD");
      if (unexported) methods.add(unexported);
      for (const method of methods) for (const who of ["anonymous", "signed in"] as const) plan.push({ route, method, who });
    }
    // Logging out ends the session the other signed-in requests use: last.
    const isLogout = (p: (typeof plan)[number]) => p.route.pattern === "/api/admin/session" && p.method === "DELETE" && p.who === "signed in";
    plan.sort((a, b) => Number(isLogout(a)) - Number(isLogout(b)));

    for (const { route, method, who } of plan) {
      const path = fillRoute(route, values);
      const reply = await rawRequest(server.url, method, path, { headers: credentials(path, who), body: bodyFor(route, method) });
      counts.cases.add(`${route.pattern} ${method} ${who}`);
      checkHeaders(`${method} ${path} (${who}) -> ${reply.status}`, path, reply, method);
      // The signed-in walk reaches the real pages and reads (real ids, not 404s); anonymous ones are turned away.
      if (method === "GET" && route.file.includes("/(console)/")) {
        if (who === "signed in") expect(reply.status, path).toBe(200);
        // Anonymous: a 307, or (the page streams behind its loading state) a redirect in the stream.
        else expect(reply.status === 307 || reply.text.includes("NEXT_REDIRECT;replace;/dashboard/admin/login"), `${path} (anonymous) -> login`).toBe(true);
      }
      // The identity provider's sign-in entry points answer without a session; this server has none configured.
      if (route.pattern.startsWith("/api/admin/oidc/")) {
        expect(reply.status, `${path} (${who})`).toBe(method === "GET" || method === "HEAD" ? 404 : 405);
        if (method === "GET") expect(reply.body).toMatchObject({ code: "oidc_not_configured" });
      } else if (method === "GET" && route.methods.includes("GET") && route.kind === "route" && /^\/api\/(admin|cron\/jobs)\b/.test(route.pattern)) {
        expect(reply.status, `${path} (${who}): ${reply.text.slice(0, 200)}`).toBe(who === "signed in" ? 200 : 401);
      }
    }
  });

  it("the favicon, the icon pages link, and robots.txt: served, with the headers, and allowed by the page policy", async () => {
    // /favicon.ico: a real ICO (16, 32 and 48 px images) from public/.
    const ico = await rawRequest(server.url, "GET", "/favicon.ico");
    expect(ico.status).toBe(200);
    expect(ico.contentType).toMatch(/^image\/(x-icon|vnd\.microsoft\.icon)/);
    checkHeaders("favicon.ico", "/favicon.ico", ico, "GET");
    const bytes = Buffer.from(await (await fetch(`${server.url}/favicon.ico`)).arrayBuffer());
    expect([...bytes.subarray(0, 4)]).toEqual([0, 0, 1, 0]);
    const count = bytes.readUInt16LE(4);
    const sizes = Array.from({ length: count }, (_, i) => bytes[6 + 16 * i] || 256);
    expect(sizes).toEqual(expect.arrayContaining([16, 32, 48]));

    // Pages link an icon of this origin, which their policy's img-src lets the browser load.
    const home = await rawRequest(server.url, "GET", "/");
    const icons = [...home.text.matchAll(/<link\b[^>]*\brel="(?:shortcut )?icon"[^>]*>/g)].map((m) => m[0]);
    expect(icons.length, "a <link rel=icon> in the home page").toBeGreaterThan(0);
    const href = /\bhref="([^"]+)"/.exec(icons[0]!)?.[1] ?? "";
    expect(href.startsWith("/"), `the icon is same-origin: ${href}`).toBe(true);
    const img = directives(header(home, "content-security-policy") ?? "").get("img-src") ?? directives(header(home, "content-security-policy") ?? "").get("default-src") ?? [];
    expect(img, "the page policy lets the icon load").toContain("'self'");
    const icon = await rawRequest(server.url, "GET", href.replace(/&amp;/g, "&"));
    expect(icon.status).toBe(200);
    expect(icon.contentType).toMatch(/^image\//);
    checkHeaders("linked icon", href, icon, "GET");

    const robots = await rawRequest(server.url, "GET", "/robots.txt");
    expect(robots.status).toBe(200);
    expect(robots.contentType).toMatch(/^text\/plain/);
    expect(robots.text).toMatch(/^User-agent: \*$/m);
    expect(robots.text).toMatch(/^Disallow: \/dashboard$/m);
    expect(robots.text).toMatch(/^Disallow: \/api$/m);
    checkHeaders("robots.txt", "/robots.txt", robots, "GET");
  });

  it("the login form post (303), a client-side navigation, a prefetch, a forged CSP request header, 404s and a static file", async () => {
    const form = await rawRequest(server.url, "POST", "/api/admin/session", {
      headers: { origin: server.url, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: ADMIN_TOKEN, next: "/dashboard/admin/locks" }).toString(),
    });
    expect(form.status).toBe(303);
    checkHeaders("login form POST", "/api/admin/session", form, "POST");
    const signedIn = form.setCookie[0]!.split(";")[0]!;

    // The router's fetch of a page's RSC payload on a client-side navigation, and a prefetch.
    // Next.js first answers 307 to add its cache-busting ?_rsc= parameter: both answers count.
    for (const extra of [{ rsc: "1" }, { rsc: "1", "next-router-prefetch": "1" }] as Record<string, string>[]) {
      let path = "/dashboard/admin/locks";
      let reply = await rawRequest(server.url, "GET", path, { headers: { cookie: signedIn, ...extra } });
      checkHeaders(`RSC ${JSON.stringify(extra)} -> ${reply.status}`, path, reply, "GET");
      if (reply.status === 307 && reply.location) {
        path = reply.location;
        reply = await rawRequest(server.url, "GET", path, { headers: { cookie: signedIn, ...extra } });
        checkHeaders(`RSC ${JSON.stringify(extra)} ${path} -> ${reply.status}`, path, reply, "GET");
      }
      expect(reply.status).toBe(200);
      expect(reply.contentType).toMatch(/^text\/x-component/);
    }

    // A client cannot choose the nonce: a Content-Security-Policy request header is replaced.
    const forged = await rawRequest(server.url, "GET", "/", { headers: { "content-security-policy": "script-src 'nonce-forgedforgedforged'", "x-nonce": "forgedforgedforged" } });
    checkHeaders("forged CSP request header", "/", forged, "GET");
    expect(forged.text).not.toContain("forgedforgedforged");
    expect(header(forged, "content-security-policy")).not.toContain("forged");

    const page404 = await rawRequest(server.url, "GET", `/no-such-page-${randomBytes(4).toString("hex")}`);
    expect(page404.status).toBe(404);
    checkHeaders("404 page", "/no-such-page", page404, "GET");
    const api404 = await rawRequest(server.url, "GET", "/api/no-such-route", { headers: { cookie: signedIn } });
    expect(api404.status).toBe(404);
    checkHeaders("404 under /api", "/api/no-such-route", api404, "GET");

    // A file of the build: nosniff and the rest, but cached forever (its name is its hash).
    const home = await rawRequest(server.url, "GET", "/");
    const asset = /<script\b[^>]*\bsrc="(\/_next\/static\/[^"]+\.js)"/.exec(home.text)?.[1];
    expect(asset, "a script of the build in the home page").toBeTruthy();
    const file = await rawRequest(server.url, "GET", asset!);
    expect(file.status).toBe(200);
    expect(file.contentType).toMatch(/javascript/);
    expect(header(file, "cache-control")).toContain("immutable");
    checkHeaders("static file", asset!, file, "GET");
    const missing = await rawRequest(server.url, "GET", "/_next/static/chunks/no-such-file.js");
    expect(missing.status).toBe(404);
    checkHeaders("missing static file", "/_next/static/chunks/no-such-file.js", missing, "GET");
  });
});
