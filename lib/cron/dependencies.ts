import type { Clock } from "./clock";
import type { JobDefinition } from "./define-job";
import type { JobRegistry } from "./registry";
import type { GateDecision, TriggerInput } from "./run-job";
import { nextRunAfter, occurrencesBetween, slotAt } from "./schedule";
import { isSlotTrigger, type RunStatus, type UpstreamState } from "./vocabulary";

/**
 * Job dependencies (dependsOn): a dependent job's slot S runs once each upstream U has completed
 * its run for U's slot of S, the latest slot of U's schedule at or before S (for jobs on the same
 * schedule, the same slot). The rows of U for that slot decide, whatever their trigger (a replay
 * or a catch-up of the slot counts): one completed -> ready; one still running, queued or due for a
 * retry (or no row yet while the slot is recent) -> waiting; every one ended without success and
 * nothing pending -> failed. Only slot triggers wait (the schedule, the tick, catch-ups,
 * backfills); an operator's run-now and replay run at once, as Temporal and Airflow let a manual
 * run through.
 */

/** What the run log holds for one job's slot, summed up (lib/db/queries/dependencies.ts reads it). */
export interface SlotRows {
  jobName: string;
  slot: Date;
  /** Rows of the job for the slot, whatever their status. */
  rows: number;
  /** The first completion of the slot (null: none completed). */
  completedAt: Date | null;
  /** The oldest run of the slot still started, queued, due for a retry, or a queued catch-up (null: none). */
  pendingSince: Date | null;
  pendingStatus: RunStatus | null;
  /** The newest row that ended without success (failed, timed_out, abandoned, missed, skipped). */
  lastFailure: { status: RunStatus; at: Date; error: string | null } | null;
  /** The slot already has a skip recorded as upstream_failed. */
  skippedUpstreamFailed: boolean;
  /** The slot has its run: a row keyed by the slot (the claim would answer duplicate). */
  slotClaimed: boolean;
}

/** Reads the rows of many (job, slot) pairs at once, in one round trip. */
export interface UpstreamSource {
  slotRows(pairs: ReadonlyArray<{ jobName: string; slot: Date }>): Promise<SlotRows[]>;
}

/** One upstream's state for a dependent slot, with the words that explain it. */
export interface UpstreamStatus {
  jobName: string;
  /** The upstream's slot for the dependent slot (null: its schedule has none at or before it). */
  slot: Date | null;
  state: UpstreamState;
  /** Since when it is in that state: completed at, running since, failed at (null: unknown). */
  since: Date | null;
  /** "running since 10:00:03", "failed for 10:00 (timed_out)", "completed at 10:00:41". */
  detail: string;
}

export interface DependencyOptions {
  /**
   * How long a slot of an upstream with no row at all counts as still coming (its trigger may be
   * late) before it counts as failed: the plan's delivery grace plus two ticks, by which time
   * the tick has recorded it as missed (and queued its catch-up, which waits) if nobody ran it.
   */
  pendingMs: number;
}

/** The upstream's slot for a dependent slot: its latest slot at or before it (null: none). */
export function upstreamSlotFor(upstream: JobDefinition, slot: Date): Date | null {
  try {
    return slotAt(upstream.schedule, slot) ?? null;
  } catch {
    // A one-time job whose instant is later, or a schedule bounded to after the slot: nothing to wait for.
    return null;
  }
}

const hhmmss = (d: Date) => d.toISOString().slice(11, 19);
const slotWords = (d: Date) => d.toISOString().replace("T", " ").slice(0, 16) + " UTC";

/** The state of one upstream slot from its rows (a pure reading; `now` is the caller's clock). */
export function upstreamStateOf(jobName: string, slot: Date | null, rows: SlotRows | undefined, now: Date, options: DependencyOptions): UpstreamStatus {
  if (!slot) return { jobName, slot, state: "ready", since: null, detail: "has no slot at or before this one" };
  if (rows?.completedAt) return { jobName, slot, state: "ready", since: rows.completedAt, detail: `completed at ${hhmmss(rows.completedAt)}` };
  if (rows?.pendingSince) {
    const how = rows.pendingStatus === "retry_scheduled" ? "waiting for a retry" : rows.pendingStatus === "queued" ? "queued" : rows.pendingStatus === "missed" ? "waiting for its catch-up" : "running";
    return { jobName, slot, state: "waiting", since: rows.pendingSince, detail: `${how} since ${hhmmss(rows.pendingSince)}` };
  }
  if (!rows || rows.rows === 0) {
    if (now.getTime() - slot.getTime() < options.pendingMs) return { jobName, slot, state: "waiting", since: null, detail: `not started yet for ${slotWords(slot)}` };
    return { jobName, slot, state: "failed", since: null, detail: `never ran for ${slotWords(slot)}` };
  }
  const f = rows.lastFailure;
  return { jobName, slot, state: "failed", since: f?.at ?? null, detail: `${f?.status === "skipped" ? "was skipped" : "failed"} for ${slotWords(slot)}${f ? ` (${f.status})` : ""}` };
}

/** The state of each upstream of `job` for its slot `slot`, read in one round trip. */
export async function upstreamStatuses(
  source: UpstreamSource,
  registry: Pick<JobRegistry, "get">,
  job: JobDefinition,
  slots: readonly Date[],
  now: Date,
  options: DependencyOptions,
): Promise<Array<{ slot: Date; upstreams: UpstreamStatus[]; own: SlotRows | undefined }>> {
  const upstreams = job.dependsOn.map((name) => registry.get(name)).filter((u): u is JobDefinition => !!u);
  const pairs: Array<{ jobName: string; slot: Date }> = [];
  const plan = slots.map((slot) => {
    const wanted = upstreams.map((u) => ({ job: u, slot: upstreamSlotFor(u, slot) }));
    for (const w of wanted) if (w.slot) pairs.push({ jobName: w.job.name, slot: w.slot });
    pairs.push({ jobName: job.name, slot });
    return { slot, wanted };
  });
  const found = pairs.length > 0 ? await source.slotRows(pairs) : [];
  const key = (name: string, slot: Date) => `${name} ${slot.getTime()}`;
  const byKey = new Map(found.map((r) => [key(r.jobName, r.slot), r]));
  return plan.map(({ slot, wanted }) => ({
    slot,
    upstreams: wanted.map((w) => upstreamStateOf(w.job.name, w.slot, w.slot ? byKey.get(key(w.job.name, w.slot)) : undefined, now, options)),
    own: byKey.get(key(job.name, slot)),
  }));
}

/** All upstreams' states to one: any failed -> failed, else any waiting -> waiting, else ready. */
export function combinedState(upstreams: readonly UpstreamStatus[]): UpstreamState {
  if (upstreams.some((u) => u.state === "failed")) return "failed";
  if (upstreams.some((u) => u.state === "waiting")) return "waiting";
  return "ready";
}

/** Why a slot waits or was skipped, in one sentence ("waiting for extract (running since 10:00:03)"). */
export function explain(upstreams: readonly UpstreamStatus[]): string {
  const state = combinedState(upstreams);
  const named = upstreams.filter((u) => u.state === state);
  if (state === "failed") return `skipped: ${named.map((u) => `${u.jobName} ${u.detail}`).join("; ")}`;
  if (state === "waiting") return `waiting for ${named.map((u) => `${u.jobName} (${u.detail})`).join(", ")}`;
  return "every upstream completed";
}

/**
 * The engine's gate (EngineDeps.gate) for dependent jobs. A slot trigger of a job with
 * dependsOn: every upstream ready -> go on; one failed -> a recorded skip `upstream_failed`,
 * once per slot (a second delivery finds that skip and is a duplicate, as a second delivery of a
 * slot that ran is); else a wait (nothing recorded; the tick asks again). Manual runs, replays and
 * resumed retries are not held.
 */
export function dependencyGate(deps: { source: UpstreamSource; registry: () => Pick<JobRegistry, "get">; clock: Pick<Clock, "now">; options: DependencyOptions }) {
  return async (input: TriggerInput): Promise<GateDecision | null> => {
    const { job, scheduledFor: slot } = input;
    if (!slot || job.dependsOn.length === 0 || !isSlotTrigger(input.trigger) || input.retryOf) return null;
    const [read] = await upstreamStatuses(deps.source, deps.registry(), job, [slot], new Date(deps.clock.now()), deps.options);
    const state = combinedState(read.upstreams);
    if (state === "ready") return null;
    const message = explain(read.upstreams);
    if (state === "waiting") return { kind: "wait", reason: "upstream_pending", message };
    if (read.own?.skippedUpstreamFailed) return { kind: "skip", reason: "duplicate", message };
    return { kind: "skip", reason: "upstream_failed", message };
  };
}

/**
 * The dependent slots a run of `upstream` for `slot` decides: for each job that depends on it,
 * its slots whose upstream slot is `slot` (from `slot` up to the upstream's next slot), at most
 * `limit` each.
 */
export function downstreamSlotsOf(registry: Pick<JobRegistry, "dependentsOf">, upstream: JobDefinition, slot: Date, limit = 50): Array<{ job: JobDefinition; slots: Date[] }> {
  const next = nextRunAfter(upstream.schedule, slot);
  const to = new Date((next ? next.getTime() : slot.getTime() + 366 * 86_400_000) - 1);
  return registry
    .dependentsOf(upstream.name)
    .map((job) => ({ job, slots: occurrencesBetween(job.schedule, new Date(slot.getTime() - 1), to, limit) }))
    .filter((d) => d.slots.length > 0);
}

/**
 * How long after its upstream settled a dependent slot the tick holds may still be dispatched
 * (past that, a slot with no row is missed like any other: the tick itself was not running).
 */
export const DEPENDENT_SETTLE_WINDOW_MS = 15 * 60_000;

/** What the tick does with the slots of a dependent job that are past their delivery grace with no row. */
export interface DependentSlots {
  /** An upstream is still on it: neither missed nor dispatched; the bookmark stays before them. */
  hold: Date[];
  /** Every upstream settled (completed, or one failed for good) within the window: the tick dispatches these, oldest first. */
  dispatch: Date[];
  /** The others: missed as any job's are. */
  rest: Date[];
}

/**
 * Sorts a dependent job's expected slots for the tick's missed-slot check: a slot that waited
 * for its upstream is due when the upstream settles, not at its own time, so it is neither
 * recorded as missed nor alerted while it waits, and runs (or is skipped upstream_failed by the
 * gate) when the upstream is done. One read for all the slots and upstreams.
 */
export async function sortDependentSlots(
  source: UpstreamSource,
  registry: Pick<JobRegistry, "get">,
  job: JobDefinition,
  slots: readonly Date[],
  now: Date,
  options: DependencyOptions & { windowMs?: number },
): Promise<DependentSlots> {
  const sorted: DependentSlots = { hold: [], dispatch: [], rest: [] };
  if (slots.length === 0) return sorted;
  const windowMs = options.windowMs ?? DEPENDENT_SETTLE_WINDOW_MS;
  for (const read of await upstreamStatuses(source, registry, job, slots, now, options)) {
    if ((read.own?.rows ?? 0) > 0) {
      sorted.rest.push(read.slot);
      continue;
    }
    const state = combinedState(read.upstreams);
    if (state === "waiting") {
      sorted.hold.push(read.slot);
      continue;
    }
    // Due when the last upstream settled (an upstream that never ran settled when it stopped
    // counting as pending), or at the slot if they were done before it.
    const due = Math.max(read.slot.getTime(), ...read.upstreams.map((u) => u.since?.getTime() ?? (u.slot ? u.slot.getTime() + options.pendingMs : 0)));
    if (now.getTime() - due < windowMs) sorted.dispatch.push(read.slot);
    else sorted.rest.push(read.slot);
  }
  return sorted;
}

/**
 * After a run of `upstream` for `slot` completed: the dependent slots it decides that were
 * skipped upstream_failed are queued to run again (a replay of the upstream that succeeds
 * starts the downstream it had failed); the tick dispatches them as catch-ups, and the gate
 * lets them through now that the upstream completed.
 */
export async function queueDependentsAfter(
  report: { status: string; recorded: boolean; scheduledFor: Date | null },
  upstream: JobDefinition,
  registry: Pick<JobRegistry, "dependentsOf">,
  requeue: (jobName: string, slots: readonly Date[]) => Promise<number>,
): Promise<number> {
  const slot = report.scheduledFor;
  if (report.status !== "completed" || !report.recorded || !slot || registry.dependentsOf(upstream.name).length === 0) return 0;
  let queued = 0;
  for (const d of downstreamSlotsOf(registry, upstream, slot)) queued += await requeue(d.job.name, d.slots);
  return queued;
}

/** How long an upstream slot with no row counts as still coming: the plan's delivery grace plus two ticks (see DependencyOptions.pendingMs). */
export function dependencyPendingMs(graceMs: number): number {
  return graceMs + 2 * 60_000;
}

/** One recent slot of a dependent job as the API, the CLI and the dashboard show it. */
export interface DependencySlotView {
  slot: string;
  /** The job's own row for the slot: completed, started, failed, skipped..., or null (none yet). */
  status: RunStatus | null;
  /** The slot was skipped because an upstream failed (skip reason upstream_failed). */
  skippedUpstreamFailed: boolean;
  /** All upstreams to one (ready, waiting, failed). */
  upstreamState: UpstreamState;
  /** Why it waits or was skipped ("waiting for extract (running since 10:00:03)"); null when it had nothing to wait for. */
  reason: string | null;
  upstreams: Array<{ jobName: string; slot: string | null; state: UpstreamState; since: string | null; detail: string }>;
}

export interface DependencyView {
  jobName: string;
  /** The job's own dependsOn, as written. */
  dependsOn: string[];
  /** The jobs that list it in their dependsOn. */
  dependents: string[];
  /** The whole chain it is part of, upstreams first (extract, transform, load). */
  chain: string[];
  /** Its latest slots at or before now, newest first (empty for a job without dependsOn). */
  slots: DependencySlotView[];
}

/** Every job upstream of `job` (transitively), then the job, then every job downstream, each after all of its upstreams. */
export function chainOf(registry: Pick<JobRegistry, "get" | "dependentsOf">, job: JobDefinition): string[] {
  const related = new Set<string>([job.name]);
  const up = (name: string) => {
    for (const u of registry.get(name)?.dependsOn ?? []) if (!related.has(u)) (related.add(u), up(u));
  };
  const down = (name: string) => {
    for (const d of registry.dependentsOf(name)) if (!related.has(d.name)) (related.add(d.name), down(d.name));
  };
  up(job.name);
  down(job.name);
  // Topological order within the related jobs (the registry rejected cycles).
  const ordered: string[] = [];
  const visit = (name: string) => {
    if (ordered.includes(name)) return;
    for (const u of registry.get(name)?.dependsOn ?? []) if (related.has(u)) visit(u);
    ordered.push(name);
  };
  for (const name of related) visit(name);
  return ordered;
}

/** The job's latest `count` slots at or before `now`, newest first. */
function recentSlots(job: JobDefinition, now: Date, count: number): Date[] {
  const out: Date[] = [];
  let at = now;
  for (let i = 0; i < count; i++) {
    const slot = upstreamSlotFor(job, at);
    if (!slot) break;
    out.push(slot);
    at = new Date(slot.getTime() - 1);
  }
  return out;
}

/** The dependencies of `job` with the state of its recent slots: one read for all slots and upstreams. */
export async function dependencyView(
  source: UpstreamSource,
  registry: Pick<JobRegistry, "get" | "dependentsOf">,
  job: JobDefinition,
  now: Date,
  options: DependencyOptions & { slots?: number; before?: Date | null },
): Promise<DependencyView> {
  const slots = job.dependsOn.length > 0 ? recentSlots(job, options.before ?? now, options.slots ?? 5) : [];
  const reads = await upstreamStatuses(source, registry, job, slots, now, options);
  return {
    jobName: job.name,
    dependsOn: [...job.dependsOn],
    dependents: registry.dependentsOf(job.name).map((d) => d.name),
    chain: chainOf(registry, job),
    slots: reads.map(({ slot, upstreams, own }) => {
      const status: RunStatus | null = own?.completedAt ? "completed" : own?.pendingStatus ?? own?.lastFailure?.status ?? null;
      const upstreamState = combinedState(upstreams);
      const settled = status === "completed" || status === "failed" || status === "timed_out" || status === "abandoned" || status === "started";
      return {
        slot: slot.toISOString(),
        status,
        skippedUpstreamFailed: own?.skippedUpstreamFailed ?? false,
        upstreamState,
        reason: upstreamState === "ready" || (settled && !own?.skippedUpstreamFailed) ? null : explain(upstreams),
        upstreams: upstreams.map((u) => ({ jobName: u.jobName, slot: u.slot?.toISOString() ?? null, state: u.state, since: u.since?.toISOString() ?? null, detail: u.detail })),
      };
    }),
  };
}
