/**
 * Whether the tests have a Postgres server, and what a test that needs one says when there is
 * none: the one home for the condition and the message (vitest suites through
 * describeWithPostgres in ./db.ts, the Playwright specs through test.skip, the summary of
 * `npm test` through SKIP_REASON). No vitest import: Playwright loads this file too.
 *
 * Only TEST_DATABASE_URL counts, never DATABASE_URL: that is the app's own database (a
 * developer's, or production's), and the tests create and drop databases on the server they use.
 */

/** The Postgres server the tests use (TEST_DATABASE_URL), if any. */
export function serverUrl(): string | undefined {
  return process.env.TEST_DATABASE_URL || undefined;
}

/** True when TEST_DATABASE_URL is set: the suites that need a server run (and fail if it does not answer). */
export function hasPostgresServer(): boolean {
  return serverUrl() !== undefined;
}

/** Why a test did not run without a server; the summary of `npm test` groups skipped tests by this text. */
export const NEEDS_POSTGRES = "needs a Postgres server: set TEST_DATABASE_URL";

/** The title of a suite or test skipped for want of a server: its own title and the reason. */
export function needsPostgresTitle(title: string): string {
  return `${title} (${NEEDS_POSTGRES})`;
}
