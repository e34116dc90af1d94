import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import type { OverlapPolicy } from "@/lib/cron/vocabulary";
import type { ClaimInput } from "@/lib/cron/run-store";
import { queryRows, type Db } from "@/lib/db/client";
import { PostgresRunStore } from "@/lib/db/run-store";
import { describeOnDatabases } from "../support/db";

/**
 * The overlap policy as a truth table, straight against the claim: for each policy, what a
 * new trigger gets when the job's lease is free, held, held with a run already waiting, or
 * held with a queued row whose waiter died (its expiry passed: it no longer holds the place).
 */
type State = "free" | "held" | "held+queued" | "held+expired-queued";
const TABLE: Record<OverlapPolicy, Record<State, string>> = {
  skip: { free: "claimed", held: "skipped:already_running", "held+queued": "skipped:already_running", "held+expired-queued": "skipped:already_running" },
  allow: { free: "claimed", held: "claimed", "held+queued": "claimed", "held+expired-queued": "claimed" },
  bufferOne: { free: "claimed", held: "queued", "held+queued": "skipped:already_running", "held+expired-queued": "queued" },
  replace: { free: "claimed", held: "queued+cancel", "held+queued": "skipped:already_running", "held+expired-queued": "queued+cancel" },
};

let n = 0;
describeOnDatabases("overlap truth table", (ctx) => {
  for (const [policy, row] of Object.entries(TABLE) as Array<[OverlapPolicy, Record<State, string>]>) {
    for (const [state, expected] of Object.entries(row) as Array<[State, string]>) {
      it(`${policy} with the lease ${state} -> ${expected}`, async () => {
        const store = new PostgresRunStore(ctx.db);
        const jobName = `truth-${policy.toLowerCase()}-${++n}`;
        const input = (overlap: OverlapPolicy): ClaimInput => ({ jobName, trigger: "manual", scheduledFor: null, dedupeKey: null, overlap, enabledByDefault: true, checkState: false, leaseMs: 60_000, holder: "t", codeVersion: null, actor: null });
        let holder: string | null = null;
        if (state !== "free") {
          const first = await store.claim(input("skip"));
          if (first.outcome !== "claimed") throw new Error("setup failed");
          holder = first.runId;
        }
        if (state === "held+queued" || state === "held+expired-queued") {
          const queued = await store.claim(input("bufferOne"));
          expect(queued.outcome).toBe("queued");
          if (state === "held+expired-queued") await ctx.db.execute(sql`UPDATE cron_job_logs SET lease_expires_at = now() - interval '1 second' WHERE id = ${queued.runId}::uuid`);
        }
        const result = await store.claim(input(policy));
        let got: string = result.outcome;
        if (result.outcome === "skipped") got = `skipped:${result.reason}`;
        if (result.outcome === "queued") {
          const heartbeat = await store.heartbeat(holder!, await holderToken(ctx.db, holder!), 60_000);
          if (heartbeat.cancelRequested) got = "queued+cancel";
        }
        expect(got).toBe(expected);
      });
    }
  }
});

async function holderToken(db: Db, runId: string): Promise<number> {
  const [row] = await queryRows<{ fencing_token: string }>(db, sql`SELECT fencing_token FROM cron_job_logs WHERE id = ${runId}`);
  return Number(row.fencing_token);
}
