import { afterAll, beforeAll, expect, it } from "vitest";
import { dependencyGate } from "@/lib/cron/dependencies";
import type { JobDefinition } from "@/lib/cron/define-job";
import { JobRegistry } from "@/lib/cron/registry";
import { runTrigger, type EngineDeps } from "@/lib/cron/run-job";
import { PostgresUpstreamSource } from "@/lib/db/queries/dependencies";
import { PostgresRunStore } from "@/lib/db/run-store";
import { dependencyFeatureJobs } from "@/lib/jobs/feature-jobs/dependencies";
import { runCli } from "../support/cli";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";

/**
 * `crondeck jobs deps <job>` as a child process on a fresh database of the Postgres server: the
 * chain and, per slot, each upstream's state and why the slot was skipped, as text and as JSON;
 * usage mistakes exit 2 and name the fix.
 */

const FAILING = "2026-11-13T03:17:00.000Z";
let database: TestDatabase;
const cli = (args: string[]) => runCli(args, { env: { DATABASE_URL: database.url, CRON_SECRET: "cli-deps-secret-0123456789abcdef", CRONDECK_FEATURE_JOBS: "1", CRON_PLAN: "" } });

describeWithPostgres("crondeck jobs deps [postgres]", () => {
  beforeAll(async () => {
    database = await createTestDatabase("postgres");
    const registry = new JobRegistry(dependencyFeatureJobs);
    const deps: EngineDeps = {
      runs: new PostgresRunStore(database.db), holder: "cli-deps:1", codeVersion: "v1", settleGraceMs: 100,
      gate: dependencyGate({ source: new PostgresUpstreamSource(database.db), registry: () => registry, clock: { now: () => Date.now() }, options: { pendingMs: 180_000 } }),
    };
    const fire = (name: string) => runTrigger(deps, { job: registry.get(name) as JobDefinition, trigger: "tick", scheduledFor: new Date(FAILING), budgetMs: 60_000 });
    // feature-extract fails on the 13th: transform is skipped upstream_failed.
    expect((await fire("feature-extract")).kind).toBe("ran");
    expect(await fire("feature-transform")).toMatchObject({ kind: "skipped", reason: "upstream_failed" });
  }, 60_000);
  afterAll(async () => {
    await database?.dispose();
  });

  it("prints the chain and why the slot was skipped, as text and as JSON", async () => {
    const text = await cli(["jobs", "deps", "feature-transform", "--before", FAILING, "--slots", "1"]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("chain       feature-extract -> feature-transform -> feature-load -> feature-publish");
    expect(text.stdout).toContain("depends on  feature-extract");
    expect(text.stdout).toContain("dependents  feature-load");
    expect(text.stdout).toMatch(/2026-11-13 03:17\s+skipped \(upstream_failed\)\s+feature-extract failed\s+skipped: feature-extract failed for 2026-11-13 03:17 UTC \(failed\)/);
    const json = await cli(["jobs", "deps", "feature-transform", "--before", FAILING, "--slots", "1", "--json"]);
    expect(json.code).toBe(0);
    expect(json.json).toMatchObject({ ok: true, jobName: "feature-transform", slots: [{ slot: FAILING, skippedUpstreamFailed: true, upstreamState: "failed" }] });
  });

  it("usage mistakes exit 2 with the fix", async () => {
    const slots = await cli(["jobs", "deps", "feature-transform", "--slots", "0"]);
    expect(slots.code).toBe(2);
    expect(slots.stderr).toContain("--slots takes a whole number from 1 to 50");
    const before = await cli(["jobs", "deps", "feature-transform", "--before", "yesterday"]);
    expect(before.code).toBe(2);
    expect(before.stderr).toContain("2026-11-24T10:00:00Z");
    const unknown = await cli(["jobs", "deps", "no-such-job"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("crondeck jobs list");
    const missing = await cli(["jobs", "deps"]);
    expect(missing.code).toBe(2);
  });
});
