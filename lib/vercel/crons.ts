import type { JobDefinition } from "../cron/define-job";
import { numericCronFields, slotAt } from "../cron/schedule";
import { scheduleNotation } from "../cron/schedule";
import type { DispatchMode } from "../cron/vocabulary";

/** The Vercel plans whose cron and duration limits Crondeck knows. */
export const VERCEL_PLANS = ["hobby", "pro"] as const;
export type VercelPlan = (typeof VERCEL_PLANS)[number];

export interface VercelCron {
  path: string;
  schedule: string;
}

export const EXECUTE_PATH = "/api/cron/execute";

/** The user agent Vercel Cron sends with every call. */
export const VERCEL_CRON_USER_AGENT = "vercel-cron/1.0";

/**
 * The headers Vercel Cron sends on a call: the Bearer secret, its user agent and the firing
 * entry's expression (when known). The local scheduler and `crondeck trigger --schedule` send these.
 */
export function vercelCronHeaders(secret: string, schedule: string | null): Record<string, string> {
  return { authorization: `Bearer ${secret}`, "user-agent": VERCEL_CRON_USER_AGENT, ...(schedule ? { "x-vercel-cron-schedule": schedule } : {}) };
}
export const TICK_PATH = "/api/cron/tick";

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * How late Vercel Cron may deliver a scheduled call: Hobby fires anywhere within the hour,
 * Pro within the minute. The tick's missed-slot grace and the Sentry monitors' margin both
 * follow it.
 */
export function deliveryGraceMs(plan: VercelPlan): number {
  return plan === "hobby" ? HOUR_MS : 60_000;
}

/**
 * The tick runs every minute on Pro. Hobby allows one run a day per cron entry, so there it
 * runs daily: abandoned runs, deferred retries and missed slots are then found once a day.
 */
export function tickScheduleFor(plan: VercelPlan): string {
  return plan === "hobby" ? "0 0 * * *" : "* * * * *";
}

/**
 * What Vercel Cron refuses in a `schedule` (Vercel's docs, "Cron expressions", and the Vercel
 * CLI's validator, packages/cli/src/util/cron.ts): names (MON, JAN), and a day of month and a
 * day of week both set. `7` for Sunday is accepted by the CLI but outside the documented 0-6:
 * a warning. The expression must already be valid 5-field cron (cronExpressionError).
 */
export function vercelScheduleIssues(schedule: string): Array<{ severity: "error" | "warning"; code: string; message: string }> {
  const fields = schedule.trim().split(/\s+/);
  const issues: Array<{ severity: "error" | "warning"; code: string; message: string }> = [];
  if (fields.some((f) => /[A-Za-z]/.test(f))) {
    issues.push({ severity: "error", code: "named_values", message: `"${schedule}" uses names (MON, JAN...), which Vercel Cron refuses: write numbers ("${numericCronFields(schedule)}")` });
  }
  if (fields[2] !== "*" && fields[4] !== "*") {
    issues.push({ severity: "error", code: "day_of_month_and_week", message: `"${schedule}" sets both day of month and day of week, which Vercel Cron does not support: set one of them to *, or let the tick dispatch the job (dispatch: "tick")` });
  }
  if (fields.length === 5 && /(^|[,-])7($|[,/-])/.test(fields[4])) {
    issues.push({ severity: "warning", code: "sunday_as_7", message: `"${schedule}" writes Sunday as 7; Vercel documents day of week as 0-6: write 0` });
  }
  return issues;
}

/** True when a UTC expression fires at most once a day: one minute and one hour (what Hobby accepts). */
export function isOncePerDay(schedule: string): boolean {
  const [minute, hour] = numericCronFields(schedule).split(" ");
  return /^\d+$/.test(minute) && /^\d+$/.test(hour);
}

/** Why a job that would be Vercel's goes through the tick instead. */
/** `interval` and `once`: an `every` schedule or a one-time job (runAt), which no cron expression can say. */
export type TickRouteReason = "timezone" | "dispatch_tick" | "day_of_month_and_week" | "hobby_frequency" | "interval" | "once";

/** Who fires a job on a plan: a cron entry of its own (numeric fields), or the tick. */
export type JobRoute =
  | { job: string; via: "vercel"; schedule: string; /** The registry's expression differs from what is written (names, 7, `a/n`). */ rewritten: boolean }
  | { job: string; via: "tick"; reason: TickRouteReason };

/**
 * One rule for every part of Crondeck that asks who fires a job on Vercel (cron:sync, vercel
 * check, the execute route's stale-schedule check, the registry's dispatch): UTC jobs get a
 * cron of their own, written with numeric fields; what Vercel cannot express or the plan does
 * not allow goes through the tick.
 */
export function routeOnPlan(job: JobDefinition, plan: VercelPlan): JobRoute {
  // Intervals and one-time jobs never get a vercel.json entry: a cron cannot say "every 90m" (its
  // grid restarts each day) nor "once on 2026-12-24" (no year field); defineJob gives them to the tick.
  if (job.schedule.kind === "every") return { job: job.name, via: "tick", reason: "interval" };
  if (job.schedule.kind === "once") return { job: job.name, via: "tick", reason: "once" };
  if (job.dispatch === "tick") return { job: job.name, via: "tick", reason: job.schedule.timezone === "UTC" ? "dispatch_tick" : "timezone" };
  const schedule = numericCronFields(job.schedule.cron);
  const fields = schedule.split(" ");
  if (fields[2] !== "*" && fields[4] !== "*") return { job: job.name, via: "tick", reason: "day_of_month_and_week" };
  if (plan === "hobby" && !isOncePerDay(schedule)) return { job: job.name, via: "tick", reason: "hobby_frequency" };
  return { job: job.name, via: "vercel", schedule, rewritten: schedule !== job.schedule.cron };
}

/** The dispatch a job has on a plan (what the registry should give it, so the tick dispatches what vercel.json leaves out). */
export function dispatchOnPlan(job: JobDefinition, plan: VercelPlan): DispatchMode {
  return routeOnPlan(job, plan).via;
}

/** The jobs with the dispatch each has on the plan; the same objects when nothing changes. */
export function withPlanDispatch(jobs: readonly JobDefinition[], plan: VercelPlan): JobDefinition[] {
  return jobs.map((job) => (dispatchOnPlan(job, plan) === job.dispatch ? job : { ...job, dispatch: "tick" }));
}

/** The schedule vercel.json should give a job's path on the plan, or null when the tick fires it. */
export function expectedVercelSchedule(job: JobDefinition, plan: VercelPlan): string | null {
  const route = routeOnPlan(job, plan);
  return route.via === "vercel" ? route.schedule : null;
}

/**
 * Whether the daily Hobby tick (scheduled 00:00 UTC, delivered any time up to 00:59) always
 * finds a slot of the job due within the hour it dispatches: true for a job that fires every
 * few minutes or at 00:00 UTC, false for a daily job at 09:00 (its slots are then recorded as
 * missed by the next tick). Checked on the day after `now` for every minute of the window.
 */
export function runsWithDailyTick(job: JobDefinition, now: Date, plan: VercelPlan = "hobby"): boolean {
  const day = Math.floor(now.getTime() / DAY_MS) * DAY_MS + DAY_MS;
  const grace = deliveryGraceMs(plan);
  for (let minute = 0; minute < 60; minute++) {
    const call = new Date(day + minute * 60_000);
    const slot = slotAt(job.schedule, call);
    if (!slot || call.getTime() - slot.getTime() >= grace) return false;
  }
  return true;
}

/** What cron:sync does with one job on a plan, in a sentence with what the user can do. */
export interface JobRouteNote {
  job: string;
  via: DispatchMode;
  /** Stable identifier: "cron", "rewritten", or the tick reason. */
  code: "cron" | "rewritten" | TickRouteReason;
  /** "info" when the job runs as its schedule says; "warning" when it runs less often or never without more setup. */
  level: "info" | "warning";
  message: string;
}

/** A line per job: what vercel.json does with it on the plan and, when it cannot run as scheduled, the ways out. */
export function routeNotes(jobs: readonly JobDefinition[], plan: VercelPlan, now: Date = new Date()): JobRouteNote[] {
  const tick = `the tick (${TICK_PATH}, "${tickScheduleFor(plan)}")`;
  const oncePerDay = (job: JobDefinition) => job.schedule.kind === "every" ? job.schedule.everyMs >= DAY_MS : job.schedule.kind === "once" || isOncePerDay(job.schedule.cron);
  const onHobbyTick = (job: JobDefinition) => {
    const found = runsWithDailyTick(job, now, plan);
    if (found && oncePerDay(job)) return `Vercel calls the tick once a day on Hobby (00:00-00:59 UTC), which finds its daily slot: it runs as scheduled, up to an hour late.`;
    return found
      ? `Vercel calls the tick once a day on Hobby (00:00-00:59 UTC), so "${job.name}" runs about once a day there, not as its schedule says; its other slots are recorded as missed (one alert a day).`
      : `Vercel calls the tick once a day on Hobby (00:00-00:59 UTC), and no slot of "${job.name}" falls in the hour before that call: it never runs on Hobby and its slots are recorded as missed.`;
  };
  const waysOut = `To run it as scheduled: upgrade to Pro (CRON_PLAN=pro, then npm run cron:sync), or have another scheduler call ${TICK_PATH} every minute with the CRON_SECRET, or give it a schedule that fires once a day.`;
  return [...jobs]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((job): JobRouteNote => {
      const route = routeOnPlan(job, plan);
      if (route.via === "vercel") {
        return route.rewritten
          ? { job: job.name, via: "vercel", code: "rewritten", level: "info", message: `${job.name}: cron "${route.schedule}" (the registry's "${scheduleNotation(job.schedule)}" with numeric fields, which Vercel requires; same slots).` }
          : { job: job.name, via: "vercel", code: "cron", level: "info", message: `${job.name}: cron "${route.schedule}".` };
      }
      const written = scheduleNotation(job.schedule);
      const why: Record<TickRouteReason, string> = {
        timezone: `scheduled in ${job.schedule.kind === "every" || job.schedule.kind === "once" ? "UTC" : job.schedule.timezone}; Vercel Cron knows only UTC, so ${tick} dispatches it.`,
        dispatch_tick: `dispatch: "tick", so ${tick} dispatches it.`,
        day_of_month_and_week: `"${written}" sets both day of month and day of week, which Vercel Cron does not support, so ${tick} dispatches it instead of a cron of its own.`,
        hobby_frequency: `"${written}" fires more than once a day, which Hobby refuses for a cron (the deployment would fail), so it gets no cron of its own and ${tick} dispatches it.`,
        interval: `"${written}" is an interval in real time, which no cron expression can say (a cron's grid restarts every hour and day), so ${tick} dispatches it.`,
        once: `"${written}" is a one-time job, which a cron cannot say (it has no year), so ${tick} dispatches it.`,
      };
      const hobby = plan === "hobby";
      const degraded = hobby && !(oncePerDay(job) && runsWithDailyTick(job, now, plan));
      return {
        job: job.name,
        via: "tick",
        code: route.reason,
        level: degraded ? "warning" : "info",
        message: `${job.name}: no cron of its own: ${why[route.reason]}${hobby ? ` ${onHobbyTick(job)}${degraded ? ` ${waysOut}` : ""}` : ""}`,
      };
    });
}

/**
 * The `crons` of vercel.json for a registry on a plan: one entry per job Vercel Cron fires
 * (numeric UTC schedules, see {@link routeOnPlan}), sorted by path so the file is stable, then
 * the tick, which dispatches the others and does the housekeeping.
 */
export function vercelCronsFor(jobs: readonly JobDefinition[], plan: VercelPlan = "pro"): VercelCron[] {
  const perJob = jobs
    .map((job) => ({ job, route: routeOnPlan(job, plan) }))
    .flatMap(({ job, route }) => (route.via === "vercel" ? [{ path: `${EXECUTE_PATH}/${job.name}`, schedule: route.schedule }] : []))
    .sort((a, b) => a.path.localeCompare(b.path));
  return [...perJob, { path: TICK_PATH, schedule: tickScheduleFor(plan) }];
}

/** vercel.json with its crons replaced; every other setting is kept. */
export function withCrons(vercelJson: Record<string, unknown>, crons: VercelCron[]): Record<string, unknown> {
  return { ...vercelJson, crons };
}

/** The header Vercel Cron (and a Schedules path target) sends with each call: the cron expression of the entry that fired. */
export const VERCEL_CRON_SCHEDULE_HEADER = "x-vercel-cron-schedule";

export interface StaleVercelSchedule {
  /** What Vercel fired (the deployed vercel.json's entry). */
  sent: string;
  /** What cron:sync writes for the job on this plan; null: no cron, the tick dispatches it. */
  expected: string | null;
  message: string;
  fix: string;
}

/**
 * A call whose x-vercel-cron-schedule differs from the schedule the registry would write for
 * the job on the plan: the deployed vercel.json is older than the registry (a changed schedule,
 * a job moved to the tick, another plan). Null when the header is absent or agrees.
 */
export function staleVercelSchedule(header: string | null, job: JobDefinition, plan: VercelPlan): StaleVercelSchedule | null {
  if (header === null) return null;
  const sent = header.trim().split(/\s+/).join(" ").slice(0, 120);
  let expected: string | null;
  try {
    expected = expectedVercelSchedule(job, plan);
  } catch {
    return null; // the registry validated the job's schedule: not reached
  }
  if (sent === expected) return null;
  const fix = `run \`${plan === "hobby" ? "CRON_PLAN=hobby " : ""}npm run cron:sync\`, commit vercel.json and redeploy`;
  const wanted = expected === null ? `no cron for it on the ${plan} plan (the tick dispatches it)` : `"${expected}"`;
  return {
    sent,
    expected,
    fix,
    message: `Vercel Cron fired ${job.name} for "${sent}", but the registry writes ${wanted}: the deployed vercel.json is stale; ${fix}`,
  };
}

/**
 * The tick's x-vercel-cron-schedule against the plan: a tick fired daily while CRON_PLAN is pro
 * (a Hobby vercel.json deployed without CRON_PLAN=hobby in the project) would treat deliveries
 * up to an hour late as missed; a minute tick with CRON_PLAN=hobby means a Pro file. Null when
 * the header is absent or agrees.
 */
export function staleTickSchedule(header: string | null, plan: VercelPlan): StaleVercelSchedule | null {
  if (header === null) return null;
  const sent = header.trim().split(/\s+/).join(" ").slice(0, 120);
  const expected = tickScheduleFor(plan);
  if (sent === expected) return null;
  const other = VERCEL_PLANS.find((p) => p !== plan && tickScheduleFor(p) === sent);
  const fix = other
    ? `set CRON_PLAN=${other} in the Vercel project's environment variables and redeploy, or run \`CRON_PLAN=${plan} npm run cron:sync\` and redeploy`
    : `run \`${plan === "hobby" ? "CRON_PLAN=hobby " : ""}npm run cron:sync\`, commit vercel.json and redeploy`;
  return {
    sent,
    expected,
    fix,
    message: other
      ? `Vercel Cron fired the tick for "${sent}", the ${other} plan's tick, but CRON_PLAN is ${plan} (tick "${expected}"): the missed-slot grace and the monitors follow CRON_PLAN; ${fix}`
      : `Vercel Cron fired the tick for "${sent}", but the registry writes "${expected}" for the ${plan} plan: the deployed vercel.json is stale; ${fix}`,
  };
}
