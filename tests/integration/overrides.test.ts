import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { getJobOverrides, revertJobOverrides, setJobOverrides } from "@/lib/app/operations/overrides";
import { runTick, type Dispatcher, type DispatchRequest } from "@/lib/app/tick";
import { defineJob, type JobDefinition } from "@/lib/cron/define-job";
import { OperationError } from "@/lib/cron/errors";
import { JobRegistry } from "@/lib/cron/registry";
import type { Actor } from "@/lib/cron/vocabulary";
import { queryRows, type Db } from "@/lib/db/client";
import { jobState } from "@/lib/db/queries/jobs";
import { OverrideCache, overridesResolver, readAllOverrides } from "@/lib/overrides/store";
import { describeOnDatabases } from "../support/db";

/**
 * Run-time overrides on both databases: each write (set, merge, revert) with its audit row in one
 * transaction, a refused document writing nothing, concurrent edits merging in turn, the cache
 * (this process's writes at once, another's within the TTL), and the tick reading the effective
 * definitions: a missed-policy override changes its catch-ups, a schedule override its dispatches.
 */

let counter = 0;
const uniqueName = () => `ovr-${process.pid}-${++counter}`;
const admin: Actor = { name: "admin", via: "cookie", ip: "203.0.113.5" };
const cli: Actor = { name: "cli:ops", via: "cli", ip: null };
const job = (extra: Partial<Parameters<typeof defineJob>[0]> = {}): JobDefinition =>
  defineJob({ name: uniqueName(), schedule: { cron: "*/10 * * * *", timezone: "Europe/Paris" }, handler: async () => "ok", timeout: "10s", ...extra } as Parameters<typeof defineJob>[0]);

interface AuditRow {
  actor: string;
  action: string;
  detail: { fields: string[]; before: Record<string, unknown>; after: Record<string, unknown> | null; via: string };
  ip_address: string | null;
}
const auditOf = (db: Db, target: string) => queryRows<AuditRow>(db, sql`SELECT actor, action, detail, ip_address FROM cron_audit_log WHERE target = ${target} ORDER BY id`);

async function refusal(promise: Promise<unknown>): Promise<OperationError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(OperationError);
  return error as OperationError;
}

describeOnDatabases("run-time overrides", (ctx) => {
  it("stores an override with its audit row, merges the next one field by field, and shows code, override and effective", async () => {
    const j = job({ backoff: { strategy: "exponential", delay: "2s" } });
    const first = await setJobOverrides(ctx, admin, { job: j, change: { timeout: "3m", backoff: { delay: "5s" } } });
    expect(first.fields.find((f) => f.field === "timeout")).toEqual({ field: "timeout", code: "10s", override: "3m", effective: "3m", overridden: true, overridable: true });
    expect(first.setBy).toBe("admin");
    const second = await setJobOverrides(ctx, cli, { job: j, change: { retries: 2, backoff: { max: "1m" } } });
    expect(second.overrides).toEqual({ timeout: "3m", retries: 2, backoff: { delay: "5s", max: "1m" } });
    expect(second.fields.find((f) => f.field === "backoff")?.effective).toMatchObject({ strategy: "exponential", delay: "5s", max: "1m" });
    expect(second.setBy).toBe("cli:ops");

    const audit = await auditOf(ctx.db, j.name);
    expect(audit.map((a) => [a.actor, a.action, a.detail.fields])).toEqual([
      ["admin", "job.override", ["timeout", "backoff"]],
      ["cli:ops", "job.override", ["retries", "backoff"]],
    ]);
    expect(audit[1].detail.before).toEqual({ timeout: "3m", backoff: { delay: "5s" } });
    expect(audit[1].detail.after).toEqual(second.overrides);
    expect(audit[0]).toMatchObject({ ip_address: "203.0.113.5", detail: { via: "cookie" } });
    expect((await jobState(ctx.db, j.name, true)).overrides).toEqual(second.overrides);
  });

  it("refuses a document defineJob would refuse, naming the field, and writes nothing", async () => {
    const j = job();
    await setJobOverrides(ctx, admin, { job: j, change: { retries: 1 } });
    const before = await queryRows(ctx.db, sql`SELECT overrides, overrides_at, overrides_by, last_modified_at FROM cron_job_config WHERE job_name = ${j.name}`);
    for (const [change, field] of [
      [{ timeout: "10 minutes" }, "timeout"],
      [{ alerts: { maxRuntime: "20s" } }, "alerts.maxRuntime"],
      [{ retries: 1, paused: true }, "paused"],
      [{}, "overrides"],
      [[1], "overrides"],
    ] as const) {
      const error = await refusal(setJobOverrides(ctx, admin, { job: j, change }));
      expect(error).toMatchObject({ kind: "invalid", code: "invalid_override", field });
      expect(error.message).toContain(`job "${j.name}"`);
    }
    expect(await queryRows(ctx.db, sql`SELECT overrides, overrides_at, overrides_by, last_modified_at FROM cron_job_config WHERE job_name = ${j.name}`)).toEqual(before);
    expect((await auditOf(ctx.db, j.name)).length).toBe(1);
  });

  it("reverts one field, then all; reverting what is not overridden changes nothing and writes no audit row", async () => {
    const j = job();
    await setJobOverrides(ctx, admin, { job: j, change: { timeout: "1m", retries: 3, missed: "once" } });
    const one = await revertJobOverrides(ctx, admin, { job: j, field: "retries" });
    expect(one.changed).toBe(true);
    expect(one.overrides).toEqual({ timeout: "1m", missed: "once" });
    expect(one.fields.find((f) => f.field === "retries")).toMatchObject({ code: 0, override: null, effective: 0, overridden: false });
    expect((await revertJobOverrides(ctx, admin, { job: j, field: "retries" })).changed).toBe(false);
    const all = await revertJobOverrides(ctx, cli, { job: j });
    expect(all).toMatchObject({ changed: true, overrides: {}, setAt: null, setBy: null });
    expect((await revertJobOverrides(ctx, cli, { job: j })).changed).toBe(false);
    const audit = await auditOf(ctx.db, j.name);
    expect(audit.map((a) => [a.action, a.detail.fields, a.detail.after])).toEqual([
      ["job.override", ["timeout", "retries", "missed"], { timeout: "1m", retries: 3, missed: "once" }],
      ["job.override_revert", ["retries"], { timeout: "1m", missed: "once" }],
      ["job.override_revert", ["timeout", "missed"], null],
    ]);
    const [row] = await queryRows<{ overrides: unknown }>(ctx.db, sql`SELECT overrides FROM cron_job_config WHERE job_name = ${j.name}`);
    expect(row.overrides).toBeNull();
  });

  it("refuses a revert that would leave an override the code refuses", async () => {
    const j = job();
    await setJobOverrides(ctx, admin, { job: j, change: { timeout: "1m", alerts: { maxRuntime: "30s" } } });
    const error = await refusal(revertJobOverrides(ctx, admin, { job: j, field: "timeout" }));
    expect(error).toMatchObject({ kind: "conflict", code: "override_revert_conflict" });
    expect(error.message).toMatch(/revert alerts too/);
    expect((await getJobOverrides(ctx, j)).overrides).toEqual({ timeout: "1m", alerts: { maxRuntime: "30s" } });
  });

  it("merges concurrent edits of different fields in turn (none is lost)", async () => {
    const j = job();
    await Promise.all([
      setJobOverrides(ctx, admin, { job: j, change: { timeout: "20s" } }),
      setJobOverrides(ctx, cli, { job: j, change: { retries: 4 } }),
      setJobOverrides(ctx, admin, { job: j, change: { missed: "all" } }),
    ]);
    expect((await getJobOverrides(ctx, j)).overrides).toEqual({ timeout: "20s", retries: 4, missed: "all" });
    expect((await auditOf(ctx.db, j.name)).length).toBe(3);
  });

  it("applies this process's writes at once and another instance's within the cache's TTL", async () => {
    const j = job();
    const resolve = overridesResolver(ctx.db);
    expect((await resolve(j)).timeoutMs).toBe(10_000);
    await setJobOverrides(ctx, admin, { job: j, change: { timeout: "30s" } });
    expect((await resolve(j)).timeoutMs).toBe(30_000);
    // Another instance: its cache read before the write keeps the old value until its TTL ends.
    let now = 0;
    const other = new OverrideCache(() => readAllOverrides(ctx.db), 5_000, () => now);
    expect((await other.all()).get(j.name)?.doc).toEqual({ timeout: "30s" });
    await revertJobOverrides(ctx, admin, { job: j });
    expect((await resolve(j)).timeoutMs).toBe(10_000);
    now = 4_999;
    expect((await other.all()).get(j.name)?.doc).toEqual({ timeout: "30s" });
    now = 5_000;
    expect((await other.all()).get(j.name)).toBeUndefined();
  });

  it("ignores the overrides of a job no longer in the registry", async () => {
    const gone = job();
    const kept = job({ schedule: "0 3 * * *" });
    await setJobOverrides(ctx, admin, { job: gone, change: { missed: "all" } });
    const calls: DispatchRequest[] = [];
    const dispatch: Dispatcher = async (request) => (calls.push(request), { request, status: 200 });
    const report = await runTick({ db: ctx.db, registry: new JobRegistry([kept]), dispatch, plan: "pro", holder: "ovr-tick", now: new Date("2026-11-21T07:00:00Z") });
    expect(report.errors).toEqual([]);
    expect(calls.filter((c) => c.jobName === gone.name)).toEqual([]);
  });

  it("the tick catches up per the overridden missed policy, and per the code's after a revert", async () => {
    // A UTC job Vercel dispatches: the tick only checks its slots.
    const j = defineJob({ name: uniqueName(), schedule: "*/10 * * * *", handler: async () => "ok" });
    const registry = new JobRegistry([j]);
    const calls: DispatchRequest[] = [];
    const dispatch: Dispatcher = async (request) => (calls.push(request), { request, status: 200 });
    const tick = (iso: string) => runTick({ db: ctx.db, registry, dispatch, plan: "pro", holder: "ovr-tick", now: new Date(iso) });
    await tick("2026-11-21T07:00:30Z"); // first sight
    await setJobOverrides(ctx, admin, { job: j, change: { missed: "all" } });
    const caught = await tick("2026-11-21T07:31:00Z");
    expect(caught.missed).toEqual([{ jobName: j.name, slots: ["2026-11-21T07:00:00.000Z", "2026-11-21T07:10:00.000Z", "2026-11-21T07:20:00.000Z", "2026-11-21T07:30:00.000Z"], policy: "all", catchUps: 4 }]);
    expect(calls.some((c) => c.trigger === "catchup" && c.jobName === j.name)).toBe(true);
    await revertJobOverrides(ctx, admin, { job: j });
    const skipped = await tick("2026-11-21T07:51:00Z");
    expect(skipped.missed).toEqual([{ jobName: j.name, slots: ["2026-11-21T07:40:00.000Z", "2026-11-21T07:50:00.000Z"], policy: "skip", catchUps: 0 }]);
  });

  it("the tick dispatches a tick job on its overridden schedule", async () => {
    const j = job({ schedule: { cron: "0 8 * * *", timezone: "Europe/Paris" } });
    const registry = new JobRegistry([j]);
    const calls: DispatchRequest[] = [];
    const dispatch: Dispatcher = async (request) => (calls.push(request), { request, status: 200 });
    const tick = (iso: string) => runTick({ db: ctx.db, registry, dispatch, plan: "pro", holder: "ovr-tick", now: new Date(iso) });
    await tick("2026-11-21T05:10:00Z");
    expect(calls).toEqual([]);
    await setJobOverrides(ctx, admin, { job: j, change: { schedule: { every: "30m" } } });
    await tick("2026-11-21T05:30:00Z");
    expect(calls.map((c) => [c.jobName, c.trigger, c.trigger === "retry" ? null : c.slot.toISOString()])).toEqual([[j.name, "tick", "2026-11-21T05:30:00.000Z"]]);
  });

  it("the tick goes on with the code's definitions, and reports it, when the overrides cannot be read", async () => {
    const j = job({ schedule: { cron: "*/10 * * * *", timezone: "Europe/Paris" } });
    await setJobOverrides(ctx, admin, { job: j, change: { schedule: { every: "30m" } } });
    // A handle whose read of the overrides fails (a distinct handle: its own, empty cache).
    const db = new Proxy(ctx.db, {
      get(target, key, receiver) {
        if (key !== "execute") return Reflect.get(target, key, receiver);
        return (query: { queryChunks?: Array<{ value?: string[] }> }) => {
          const text = (query.queryChunks ?? []).flatMap((c) => c.value ?? []).join("");
          if (text.includes("WHERE overrides IS NOT NULL")) return Promise.reject(new Error("connection reset"));
          return target.execute(query as never);
        };
      },
    }) as Db;
    const calls: DispatchRequest[] = [];
    const dispatch: Dispatcher = async (request) => (calls.push(request), { request, status: 200 });
    const registry = new JobRegistry([j]);
    await runTick({ db, registry, dispatch, plan: "pro", holder: "ovr-tick", now: new Date("2026-11-22T05:05:00Z") });
    const report = await runTick({ db, registry, dispatch, plan: "pro", holder: "ovr-tick", now: new Date("2026-11-22T05:10:00Z") });
    expect(report.errors).toEqual([{ scope: "overrides", error: "could not read the run-time overrides (the code's definitions applied): connection reset" }]);
    // The code's */10 slot was dispatched (the override's 30-minute grid has no 05:10).
    expect(calls.map((c) => (c.trigger === "retry" ? null : c.slot.toISOString()))).toEqual(["2026-11-22T05:10:00.000Z"]);
  });
});
