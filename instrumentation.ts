import * as Sentry from "@sentry/nextjs";

/**
 * Runs once when a Next.js server starts. A malformed environment variable stops start-up here,
 * with a message naming the variable, rather than failing on the first request that reads it.
 */
export async function register(): Promise<void> {
  // The if-block (not an early return) lets the Edge compile drop the Node-only code.
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { loadEnvOrExit, weakSecretWarnings } = await import("./lib/env");
    // A malformed variable ends the process here, with a message naming each one.
    const env = loadEnvOrExit();
    // A guessable secret does not stop start-up (it may be mid-rotation), but is said at once.
    if (env.NEXT_PHASE !== "phase-production-build") for (const warning of weakSecretWarnings(env)) process.stderr.write(`[crondeck] WARNING: ${warning}\n`);
    // Every request gets its TCP peer's address in a header of our own (lib/auth/client-address.ts).
    (await import("./lib/auth/peer-address")).installPeerAddressStamp();
    await import("./sentry.server.config");
    // OpenTelemetry run spans over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set (the
    // runtime wraps the engine's observers with them); nothing is created without it.
    if (env.NEXT_PHASE !== "phase-production-build") {
      const { getTracing } = await import("./lib/telemetry/tracing");
      const { codeVersion } = await import("./lib/env");
      getTracing(env, codeVersion(env));
    }
    // On the embedded database this server owns its data directory from the start (one process
    // per directory): a second server or a CLI command on it is refused with a message saying
    // what to do, and a damaged directory is reported here, with the fix, instead of as a 503 on
    // every request. Not while `next build` loads this file.
    if (env.NEXT_PHASE !== "phase-production-build") {
      const { getDatabase, targetFromEnv, EmbeddedDatabaseError } = await import("./lib/db/client");
      if (targetFromEnv(env).kind === "pglite") {
        try {
          await getDatabase(env);
        } catch (error) {
          if (error instanceof EmbeddedDatabaseError) {
            process.stderr.write(`\n[crondeck] ${error.message}\n\nCrondeck cannot start until this is fixed.\n`);
            process.exit(1);
          }
          // Anything else (a failed migration) is retried by the first request that needs the database.
          process.stderr.write(`[crondeck] the embedded database did not open at start-up: ${(error as Error).message.split("\n")[0]}\n`);
        }
      }
    }
    // The server command (scripts/start.mjs: `npm start`, the systemd unit, the Docker image) sets
    // NEXT_MANUAL_SIG_HANDLE so Next.js leaves SIGTERM/SIGINT to Crondeck:
    // stop taking triggers, let running jobs finish, record the rest as interrupted.
    if (env.NEXT_MANUAL_SIG_HANDLE) {
      const { installGracefulShutdown } = await import("./lib/app/shutdown");
      const { openedDatabase, currentHolder } = await import("./lib/db/client");
      const holder = currentHolder(env);
      installGracefulShutdown({
        graceSeconds: env.CRON_SHUTDOWN_GRACE_SECONDS,
        open: async () => {
          const database = await openedDatabase();
          return database ? { database, holder } : null;
        },
      });
    }
  }
}

/** Errors thrown by route handlers go to Sentry (a no-op without SENTRY_DSN). */
export const onRequestError = Sentry.captureRequestError;
