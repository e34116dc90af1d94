import type { AppDatabase } from "../support/db";
import type { NextServer } from "../support/next-server";

/** Handed from the global setup to the global teardown (both run in Playwright's runner process). */
export const E2E_STATE_KEY = Symbol.for("crondeck.e2e");

export interface E2EState {
  server: NextServer;
  database: AppDatabase;
}
