import { withSentryConfig } from "@sentry/nextjs/config";

/**
 * Headers for every response: pages, route handlers, the build's static files, 404s. The page
 * Content-Security-Policy (a nonce per request) is set by proxy.ts; everything here is static.
 * - nosniff: a JSON answer is never taken for a script or stylesheet by a page that loads it.
 * - Referrer-Policy same-origin: job names and run ids in dashboard URLs stay in the app. Not
 *   no-referrer: under it a browser sends `Origin: null` with same-origin form POSTs (Fetch
 *   spec, "append a request Origin header"), which the login form and the admin API's origin
 *   check need to see.
 * - X-Frame-Options DENY: frame-ancestors 'none' for browsers without CSP 2.
 */
const EVERY_RESPONSE = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "same-origin" },
  { key: "X-Frame-Options", value: "DENY" },
];

/**
 * Route handlers answer JSON (or nothing): no script, style or frame of their own, and no
 * response of the API is kept by a browser or a shared cache (they carry run data, job state,
 * sessions). Handlers set no-store themselves too (lib/http/http.ts json()); this covers any
 * response built another way.
 */
const API_RESPONSE = [
  { key: "Content-Security-Policy", value: "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'" },
  { key: "Cache-Control", value: "no-store" },
];

/**
 * The dashboard's admin pages show run data to a signed-in admin: never stored. This replaces
 * Next.js's own `private, no-cache, no-store, max-age=0, must-revalidate` on the rendered pages
 * (no-store alone says it all) and covers the answers Next.js builds without one (its 307 that
 * adds ?_rsc= to a router request).
 */
const ADMIN_PAGE = [{ key: "Cache-Control", value: "no-store" }];

/**
 * Next.js configuration. Kept ESM (package.json has "type": "module").
 * Sentry's withSentryConfig wraps this later; keep the export a plain object.
 * @type {import("next").NextConfig}
 */
const nextConfig = {
  experimental: {
    // proxy.ts runs in front of every page, and Next.js keeps a copy of the request body for it,
    // up to this size, until the request ends (default 10 MB: eight 100 MiB POSTs to a page at
    // once held 65 MiB). No page takes a body: forms post to /api/, which the proxy skips.
    proxyClientMaxBodySize: "64kb",
  },
  // Vercel Cron does not follow redirects: /api/cron/execute/x must never answer 308 to add or strip a slash.
  trailingSlash: false,
  // ...and must not redirect /api/cron/execute/x/ to /api/cron/execute/x either: Next.js
  // otherwise answers 308, which Vercel Cron treats as the end of the call.
  skipTrailingSlashRedirect: true,
  typedRoutes: false,
  // No X-Powered-By: Next.js: nothing to tell a scanner which framework and exploits to try.
  poweredByHeader: false,
  // npm run dev: the local scheduler asks for the registry every 3 s (?via=local-scheduler); its
  // polls stay out of the dev server's request log (development only).
  logging: { incomingRequests: { ignore: [/[?&]via=local-scheduler\b/] } },
  async headers() {
    return [
      { source: "/:path*", headers: EVERY_RESPONSE },
      // "/api/:path*" leaves out /api itself, which the catch-all route answers too.
      { source: "/api", headers: API_RESPONSE },
      { source: "/api/:path*", headers: API_RESPONSE },
      { source: "/dashboard/admin/:path*", headers: ADMIN_PAGE },
    ];
  },
  // NEXT_DIST_DIR lets several builds live side by side (parallel test runs); default .next.
  distDir: process.env.NEXT_DIST_DIR || ".next",
  // Loaded by Node at run time, not bundled: PGlite reads its .wasm and .data files from its own
  // package directory, and pg has optional native bindings (pg-native) the bundler cannot resolve.
  serverExternalPackages: ["@electric-sql/pglite", "pg"],
  // lib/db/migrate.ts reads process.cwd()/drizzle at run time, which the tracer cannot see:
  // ship the migrations with every server route.
  outputFileTracingIncludes: {
    "/**": ["./drizzle/**/*"],
  },
};

// Source maps upload only when SENTRY_AUTH_TOKEN is set (on Vercel); otherwise a no-op wrapper.
export default withSentryConfig(nextConfig, {
  org: process.env.SENTRY_ORG,
  project: process.env.SENTRY_PROJECT,
  authToken: process.env.SENTRY_AUTH_TOKEN,
  silent: !process.env.CI,
  telemetry: false,
  sourcemaps: { disable: !process.env.SENTRY_AUTH_TOKEN },
});
