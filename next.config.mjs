import { withSentryConfig } from "@sentry/nextjs/config";

/**
 * Next.js configuration. Kept ESM (package.json has "type": "module").
 * Sentry's withSentryConfig wraps this later; keep the export a plain object.
 * @type {import("next").NextConfig}
 */
const nextConfig = {
  // Vercel Cron does not follow redirects: /api/cron/execute/x must never answer 308 to add or strip a slash.
  trailingSlash: false,
  // ...and must not redirect /api/cron/execute/x/ to /api/cron/execute/x either: Next.js
  // otherwise answers 308, which Vercel Cron treats as the end of the call.
  skipTrailingSlashRedirect: true,
  typedRoutes: false,
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
