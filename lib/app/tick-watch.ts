import { AlertDispatcher, alertChannelsFromEnv, type AlertEvent, type AlertOutcome, type AlertRouting } from "../alerts";
import { coerceError } from "../cron/errors";
import { formatDurationMs } from "../cron/duration";
import { redact } from "../cron/redact";
import type { TriggerOutcome } from "../cron/run-job";
import { nextRunAfter } from "../cron/schedule";
import { tickJob } from "../cron/tick";
import type { Db } from "../db/client";
import { closeMonitor, openMonitor, SYSTEM_MONITOR, type OpenMonitor } from "../db/monitors";
import { tickHealth, tickRuns, tickWorkOf, type TickHealth, type TickRun, type TickWork } from "../db/queries/tick-health";
import { secretsOf, type Env } from "../env";
import { SYSTEM_ROUTING } from "../monitors/policy";
import { deliveryGraceMs, TICK_PATH, tickScheduleFor, type VercelPlan } from "../vercel/crons";

/**
 * The tick watched from outside. The tick cannot say that it stopped, so the places that still
 * run check it: the execute route after a run, the admin tick API (and the dashboard's banner that
 * polls it), /api/health; the tick route itself closes the watch after each of its runs and pings
 * the dead-man URL (TICK_HEARTBEAT_URL) so a service outside the app notices when all of it is down.
 * `crondeck doctor` reads the same health (readTickHealth) and alerts nothing.
 */

/** The kind of the system monitor (cron_monitors) and of its alert. */
export const TICK_LATE = "tick_late" as const;

/** tick_late is re-alerted at most once an hour while the tick stays late (the system alerts' window); one `recovered` when it runs again. */
export const TICK_LATE_REALERT_MS = SYSTEM_ROUTING.reAlertAfterMs;

/** The app-wide channels only (no job routes the tick's alerts). */
const ROUTING: AlertRouting = SYSTEM_ROUTING;

/**
 * The execute route checks on the way at most this often per process and database: one query a
 * minute, whatever the traffic. A late tick is then alerted at most a minute after it shows as late.
 * (The admin tick API and /api/health read the health anyway, and a check that changes nothing writes nothing.)
 */
export const TICK_WATCH_EVERY_MS = 60_000;

/** How long the dead-man ping may take; it never holds up or fails the tick. */
export const HEARTBEAT_TIMEOUT_MS = 3_000;

/** How often the tick is expected on the plan: the gap between two firings of its vercel.json entry (a minute on Pro, a day on Hobby). */
export function tickIntervalMs(plan: VercelPlan): number {
  const schedule = { cron: tickScheduleFor(plan), timezone: "UTC" };
  // An unbounded cron always has a next slot (null is only for bounded and one-time schedules).
  const first = nextRunAfter(schedule, new Date(Date.UTC(2026, 0, 1)))!;
  return nextRunAfter(schedule, first)!.getTime() - first.getTime();
}

/** The tick's health at `now` on the plan: late once an interval and the plan's delivery grace pass without a tick run. */
export function readTickHealth(db: Db, plan: VercelPlan, now: Date): Promise<TickHealth> {
  return tickHealth(db, { now, expectedEveryMs: tickIntervalMs(plan), graceMs: deliveryGraceMs(plan) });
}

export interface TickWatchDeps {
  db: Db;
  env: Pick<Env, "CRON_PLAN" | "NEXT_PUBLIC_APP_URL">;
  /** The runtime's observers' notify: the app-wide channels, the re-alert window, cron_alerts. */
  notify: AlertDispatcher["notify"];
  now: Date;
  log?: (message: string) => void;
}

/**
 * What one check did. opened: the tick just became late, alerted; realerted: still late and the
 * window passed; open: still late, already alerted; closed: it runs again, `recovered` sent;
 * none: it runs and nothing was open.
 */
export type TickWatchAction = "opened" | "realerted" | "open" | "closed" | "none";

export interface TickWatchResult {
  health: TickHealth;
  action: TickWatchAction;
  /** The incident of the open (or just closed) watch. */
  incidentId: string | null;
  alert: AlertOutcome | null;
}

/** Where the dashboard shows the tick's runs, when the app's URL is known. */
export function tickPageUrl(env: Pick<Env, "NEXT_PUBLIC_APP_URL">): string | null {
  return env.NEXT_PUBLIC_APP_URL ? new URL("/dashboard/admin/tick", env.NEXT_PUBLIC_APP_URL).toString() : null;
}

/** What the tick_late alert says: how long, what stopped, what to check. */
export function tickLateMessage(health: TickHealth): string {
  const every = formatDurationMs(health.expectedEveryMs);
  const since = health.lastRun ? `no tick run for ${formatDurationMs(health.lagMs ?? 0)} (last at ${health.lastRun.startedAt})` : "the tick has never run while jobs have";
  return `${since}; it is expected every ${every}. Check that vercel.json has the ${TICK_PATH} cron (npm run cron:sync), that the deployment is not behind Deployment Protection, that CRON_SECRET matches and that CRON_PLAN is the project's plan.`;
}

function lateEvent(deps: TickWatchDeps, health: TickHealth, incidentId: string): AlertEvent {
  return {
    kind: TICK_LATE,
    jobName: tickJob.name,
    category: tickJob.category,
    runId: null,
    incidentId,
    scheduledFor: null,
    consecutiveFailures: 0,
    error: tickLateMessage(health),
    at: deps.now,
    url: tickPageUrl(deps.env),
    detail: { monitor: TICK_LATE, lastTickAt: health.lastRun?.startedAt ?? null, lagMs: health.lagMs, expectedEveryMs: health.expectedEveryMs, lateAfterMs: health.lateAfterMs },
  };
}

function recoveredEvent(deps: TickWatchDeps, health: TickHealth, closed: OpenMonitor): AlertEvent {
  return {
    kind: "recovered",
    jobName: tickJob.name,
    category: tickJob.category,
    runId: health.lastRun?.id ?? null,
    incidentId: closed.incidentId,
    scheduledFor: null,
    consecutiveFailures: 0,
    error: null,
    at: deps.now,
    url: tickPageUrl(deps.env),
    detail: { monitor: TICK_LATE, lateSince: closed.openedAt.toISOString(), lastTickAt: health.lastRun?.startedAt ?? null },
  };
}

/**
 * The app-wide alert channels without the runtime, for a check that must not build the job
 * registry (GET /api/health: the dev server would otherwise hold the registry as it was when
 * health was first called, and a job added afterwards would answer 404 on its execute route).
 * Tick alerts go to the app-wide channels only, so no job's routing is needed.
 */
export function systemNotify(env: Env, db: Db): TickWatchDeps["notify"] {
  const dispatcher = new AlertDispatcher({ db, channels: alertChannelsFromEnv(env), secrets: secretsOf(env), log: (m) => console.warn(`[crondeck] ${m}`) });
  return (event, routing) => dispatcher.notify(event, routing);
}

/**
 * Checks the tick and acts: late -> open the system monitor and alert once (again per the
 * re-alert window while it stays late); running -> close it and send one `recovered`. The
 * health's read says whether the watch is open and when it last alerted, so a check that finds
 * nothing to change writes nothing. Two processes checking at once open one incident
 * (openMonitor is one statement) and the dispatcher's claim lets one of their alerts through.
 * `known` skips the read when the caller has it already. Throws only when the database does
 * (watchQuietly contains it).
 */
export async function watchTick(deps: TickWatchDeps, known?: TickHealth): Promise<TickWatchResult> {
  const health = known ?? (await readTickHealth(deps.db, deps.env.CRON_PLAN, deps.now));
  const key = { jobName: SYSTEM_MONITOR, kind: TICK_LATE };
  if (!health.late) {
    if (!health.incident) return { health, action: "none", incidentId: null, alert: null };
    const closed = await closeMonitor(deps.db, key);
    // Another process closed it in between: its recovered alert is the one.
    if (!closed) return { health, action: "none", incidentId: null, alert: null };
    const alert = await deps.notify(recoveredEvent(deps, health, closed), ROUTING);
    return { health, action: "closed", incidentId: closed.incidentId, alert };
  }
  const lastAlertAt = health.incident?.alertedAt ? Date.parse(health.incident.alertedAt) : null;
  const due = lastAlertAt === null || deps.now.getTime() - lastAlertAt >= TICK_LATE_REALERT_MS;
  if (health.incident && !due) return { health, action: "open", incidentId: health.incident.incidentId, alert: null };
  const detail = (alertedAt: number | null) => ({ lastTickAt: health.lastRun?.startedAt ?? null, alertedAt: alertedAt === null ? null : new Date(alertedAt).toISOString() });
  const monitor = await openMonitor(deps.db, { ...key, at: deps.now, value: health.lagMs, detail: detail(deps.now.getTime()) });
  const alert = await deps.notify(lateEvent(deps, health, monitor.incidentId), ROUTING);
  // Only a delivered alert starts the window (as the dispatcher's): when every channel failed, the next check tries again.
  if (alert.delivered.length === 0 && !alert.suppressed) await openMonitor(deps.db, { ...key, at: deps.now, value: health.lagMs, detail: detail(lastAlertAt) });
  return { health, action: monitor.opened ? "opened" : "realerted", incidentId: monitor.incidentId, alert };
}

/** The last throttled check per database handle, in this process. */
const lastChecks = new WeakMap<Db, number>();

/** True (and the time taken) when this process has not checked this database within TICK_WATCH_EVERY_MS of `now`. */
function takeCheck(db: Db, now: Date): boolean {
  const last = lastChecks.get(db);
  // A clock that went back counts as due, so a step of the wall clock cannot silence the watch.
  if (last !== undefined && now.getTime() >= last && now.getTime() - last < TICK_WATCH_EVERY_MS) return false;
  lastChecks.set(db, now.getTime());
  return true;
}

/** Forgets the throttle (tests that reuse one database handle with a fake clock). */
export function resetTickWatchThrottle(db: Db): void {
  lastChecks.delete(db);
}

const logOf = (deps: Pick<TickWatchDeps, "log">) => deps.log ?? ((m: string) => console.warn(`[crondeck] ${m}`));

/** watchTick that never throws: a failed check is logged (redacted) and the caller goes on. */
export async function watchQuietly(deps: TickWatchDeps, known?: TickHealth): Promise<TickWatchResult | null> {
  try {
    return await watchTick(deps, known);
  } catch (error) {
    logOf(deps)(`tick watch: the check failed: ${redact(coerceError(error).message)}`);
    return null;
  }
}

/**
 * The check from the execute route after a run: at most once per TICK_WATCH_EVERY_MS per process,
 * never throws. Null when it was not due.
 */
export function watchTickThrottled(deps: TickWatchDeps, known?: TickHealth): Promise<TickWatchResult | null> {
  if (!takeCheck(deps.db, deps.now)) return Promise.resolve(null);
  return watchQuietly(deps, known);
}

export interface HeartbeatResult {
  ok: boolean;
  /** "success" pings <url>, "fail" pings <url>/fail. */
  signal: "success" | "fail";
  statusCode?: number;
  /** Why it failed: "timeout", "network error <code>", "HTTP <code>", "invalid URL". Never the URL. */
  error?: string;
}

/** `<url>/fail`, keeping the query (Healthchecks.io's failure signal). */
export function failUrl(url: string): string {
  const u = new URL(url);
  u.pathname = `${u.pathname.replace(/\/+$/, "")}/fail`;
  return u.toString();
}

/** The body of a ping (Healthchecks shows it in the check's log): the counts of the tick's work, nothing more. */
export function heartbeatBody(work: TickWork | null): string {
  if (!work) return "crondeck tick";
  return `crondeck tick: abandoned=${work.abandoned} retries=${work.retries} orphaned=${work.orphaned} missed=${work.missed} dispatched=${work.dispatched} errors=${work.errors}`;
}

/**
 * Pings the dead-man URL (Healthchecks.io style): POST <url> after a tick run that did its work,
 * POST <url>/fail when its report has errors. Within timeoutMs, never throws; the URL is a secret
 * (it is the credential), so neither the result nor the log line names it.
 */
export async function pingTickHeartbeat(url: string, work: TickWork | null, options: { timeoutMs?: number; log?: (message: string) => void } = {}): Promise<HeartbeatResult> {
  const signal: HeartbeatResult["signal"] = work && work.errors > 0 ? "fail" : "success";
  const log = logOf(options);
  let result: HeartbeatResult;
  try {
    const target = signal === "fail" ? failUrl(url) : new URL(url).toString();
    const response = await fetch(target, {
      method: "POST",
      headers: { "content-type": "text/plain; charset=utf-8", "user-agent": "crondeck-tick/1.0" },
      body: heartbeatBody(work),
      signal: AbortSignal.timeout(options.timeoutMs ?? HEARTBEAT_TIMEOUT_MS),
      redirect: "manual",
      cache: "no-store",
    });
    await response.body?.cancel().catch(() => {});
    result = response.status < 400 ? { ok: true, signal, statusCode: response.status } : { ok: false, signal, statusCode: response.status, error: `HTTP ${response.status}` };
  } catch (error) {
    const e = error as Error & { cause?: { code?: unknown } };
    const timedOut = e?.name === "TimeoutError" || e?.name === "AbortError";
    const code = typeof e?.cause?.code === "string" && /^[A-Z_]+$/.test(e.cause.code) ? ` ${e.cause.code}` : "";
    result = { ok: false, signal, error: timedOut ? "timeout" : e instanceof TypeError && /invalid url/i.test(e.message) ? "invalid URL" : `network error${code}` };
  }
  if (!result.ok) log(`tick heartbeat (TICK_HEARTBEAT_URL) ${signal === "fail" ? "failure " : ""}ping failed: ${result.error}; the tick's work is unaffected`);
  return result;
}

export interface AfterTickDeps extends TickWatchDeps {
  heartbeatUrl?: string;
  heartbeatTimeoutMs?: number;
}

/**
 * After one delivery of the tick: closes the watch (the tick ran: `recovered` once if it was
 * late) and, when the delivery did the work (not a duplicate's skip), pings the dead-man URL, on
 * /fail when the report has errors. Never throws.
 */
export async function afterTickRun(deps: AfterTickDeps, outcome: TriggerOutcome): Promise<{ watch: TickWatchResult | null; heartbeat: HeartbeatResult | null }> {
  const [watch, heartbeat] = await Promise.all([
    watchQuietly(deps),
    deps.heartbeatUrl && outcome.kind === "ran" ? pingTickHeartbeat(deps.heartbeatUrl, tickWorkOf(outcome.run.output), { timeoutMs: deps.heartbeatTimeoutMs, log: deps.log }) : Promise.resolve(null),
  ]);
  return { watch, heartbeat };
}

export interface TickHealthSummary {
  state: TickHealth["state"];
  late: boolean;
  lastRunAt: string | null;
  lagMs: number | null;
  expectedEveryMs: number;
  lateAfterMs: number;
}

/** The tick's health as /api/health shows it (no report details: the route is public). */
export function tickHealthSummary(health: TickHealth): TickHealthSummary {
  return { state: health.state, late: health.late, lastRunAt: health.lastRun?.startedAt ?? null, lagMs: health.lagMs, expectedEveryMs: health.expectedEveryMs, lateAfterMs: health.lateAfterMs };
}

export interface TickOverview {
  /** The health after this check (its incident as the check left it). */
  health: TickHealth;
  /** The tick's latest runs, newest first, with what each did. */
  runs: TickRun[];
  /** What this check did about the watch. */
  watch: TickWatchAction | null;
}

/**
 * What the admin tick API and the dashboard's tick page show: the health and the latest runs.
 * Reading it is a check too (it writes only when the watch opens, re-alerts or closes).
 */
export async function tickOverview(deps: TickWatchDeps, options: { limit: number; before?: Date | null }): Promise<TickOverview> {
  const [health, runs] = await Promise.all([readTickHealth(deps.db, deps.env.CRON_PLAN, deps.now), tickRuns(deps.db, options)]);
  const watch = await watchQuietly(deps, health);
  const changed = watch && watch.action !== "none" && watch.action !== "open";
  return { health: changed ? await readTickHealth(deps.db, deps.env.CRON_PLAN, deps.now) : health, runs, watch: watch?.action ?? null };
}
