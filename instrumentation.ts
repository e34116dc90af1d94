import * as Sentry from "@sentry/nextjs";

/**
 * Runs once when a Next.js server starts. A malformed environment variable stops start-up here,
 * with a message naming the variable, rather than failing on the first request that reads it.
 */
export async function register(): Promise<void> {
  // The if-block (not an early return) lets the Edge compile drop the Node-only code.
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { loadEnv, EnvError } = await import("./lib/env");
    try {
      loadEnv();
    } catch (error) {
      if (!(error instanceof EnvError)) throw error;
      // The message already lists every bad variable and what it should look like; a stack adds nothing.
      // Throwing is not enough: see the note below.
      process.stderr.write(`\n${error.message}\n\nCrondeck cannot start until these are fixed.\n`);
      process.exit(1);
    }
    await import("./sentry.server.config");
  }
}

/** Errors thrown by route handlers go to Sentry (a no-op without SENTRY_DSN). */
export const onRequestError = Sentry.captureRequestError;
