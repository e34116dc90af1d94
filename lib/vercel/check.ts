import { FINISH_RESERVE_MS, INVOCATION_MAX_SECONDS, ROUTE_ANSWER_MARGIN_MS } from "../cron/budget";
import type { JobDefinition } from "../cron/define-job";
import { formatDurationMs } from "../cron/duration";
import { cronExpressionError } from "../cron/schedule";
import { scheduleNotation } from "../cron/schedule";
import { EXECUTE_PATH, isOncePerDay, routeNotes, routeOnPlan, TICK_PATH, vercelCronsFor, vercelScheduleIssues, withCrons, type JobRouteNote, type VercelCron, type VercelPlan } from "./crons";

/**
 * vercel.json against the job registry and the Vercel plan: pure functions, no file system
 * (the CLI reads and writes the file). `crondeck vercel check` and `crondeck vercel sync`
 * use them; scripts/cron-sync.ts is the older single-purpose script.
 */

export type { VercelPlan } from "./crons";

/** Vercel allows 100 cron jobs per project on every plan (changelog, 2025). */
export const VERCEL_CRON_LIMIT = 100;
/** The largest `maxDuration` each plan accepts, in seconds (Fluid compute). */
export const PLAN_MAX_DURATION_SECONDS: Record<VercelPlan, number> = { hobby: 300, pro: 800 };
/** The execute route's file, as a `functions` key in vercel.json names it. */
export const EXECUTE_ROUTE_FILE = "app/api/cron/execute/[jobName]/route.ts";
/** What the execute route keeps after the handler to record the result (its margin plus the engine's reserve). */
const FINISH_MARGIN_MS = ROUTE_ANSWER_MARGIN_MS + FINISH_RESERVE_MS;

export interface VercelCheckIssue {
  severity: "error" | "warning";
  /** Stable identifier, for scripts and tests. */
  code: string;
  message: string;
  path?: string;
  job?: string;
}

export interface CronDiff {
  /** Crons the registry asks for that vercel.json lacks. */
  missing: VercelCron[];
  /** Crons in vercel.json the registry does not ask for. */
  extra: VercelCron[];
  /** Same path, another schedule. */
  different: Array<{ path: string; schedule: string; expected: string }>;
}

export interface VercelCheckInput {
  /** The parsed vercel.json (anything: it is validated here). */
  vercelJson: unknown;
  /** The jobs that deploy (lib/jobs `jobs`; never the demo jobs). */
  jobs: readonly JobDefinition[];
  plan: VercelPlan;
  /** The execute route's own maxDuration in seconds. Default {@link INVOCATION_MAX_SECONDS}, the route's `export const maxDuration`. */
  executeMaxDurationSeconds?: number;
  /** Where schedule frequency is sampled from. Default now. */
  now?: Date;
}

export interface VercelCheckReport {
  ok: boolean;
  plan: VercelPlan;
  /** Number of crons in the file. */
  crons: number;
  expected: VercelCron[];
  diff: CronDiff;
  errors: VercelCheckIssue[];
  warnings: VercelCheckIssue[];
  /** A line per job: who fires it on this plan, and what to do when it cannot run as scheduled. */
  notes: JobRouteNote[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses vercel.json's text; the error says what is wrong and where. */
export function parseVercelJson(text: string): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `is not valid JSON: ${(error as Error).message}` };
  }
  if (!isRecord(value)) return { ok: false, error: "must hold a JSON object" };
  return { ok: true, value };
}

/** The crons of a vercel.json that are well formed (path and schedule strings). */
function cronsOf(vercelJson: Record<string, unknown>): VercelCron[] {
  const crons = vercelJson.crons;
  if (!Array.isArray(crons)) return [];
  return crons.filter((c): c is VercelCron => isRecord(c) && typeof c.path === "string" && typeof c.schedule === "string").map((c) => ({ path: c.path, schedule: c.schedule }));
}

export function diffCrons(actual: readonly VercelCron[], expected: readonly VercelCron[]): CronDiff {
  const actualByPath = new Map(actual.map((c) => [c.path, c]));
  const expectedByPath = new Map(expected.map((c) => [c.path, c]));
  return {
    missing: expected.filter((c) => !actualByPath.has(c.path)),
    extra: actual.filter((c) => !expectedByPath.has(c.path)),
    different: expected
      .filter((c) => actualByPath.has(c.path) && actualByPath.get(c.path)!.schedule.trim().split(/\s+/).join(" ") !== c.schedule)
      .map((c) => ({ path: c.path, schedule: actualByPath.get(c.path)!.schedule, expected: c.schedule })),
  };
}

export interface VercelSyncPlan {
  /** vercel.json with its crons replaced; every other setting kept. */
  next: Record<string, unknown>;
  /** The file's text (2-space JSON and a newline, as cron-sync writes it). */
  text: string;
  diff: CronDiff;
  changed: boolean;
  /** A line per job: what the file does with it on the plan (see routeNotes). */
  notes: JobRouteNote[];
}

/** What `vercel sync` writes: the registry's crons in place of the file's (null: no file yet). */
export function planVercelSync(current: Record<string, unknown> | null, jobs: readonly JobDefinition[], plan: VercelPlan, now: Date = new Date()): VercelSyncPlan {
  const base = current ?? { $schema: "https://openapi.vercel.sh/vercel.json" };
  const crons = vercelCronsFor(jobs, plan);
  const next = withCrons(base, crons);
  const diff = diffCrons(cronsOf(base), crons);
  const changed = current === null || JSON.stringify(base.crons ?? null) !== JSON.stringify(crons);
  return { next, text: `${JSON.stringify(next, null, 2)}\n`, diff, changed, notes: routeNotes(jobs, plan, now) };
}

/** The job a path /api/cron/execute/<name> names, or null. */
function jobNameOfPath(path: string): string | null {
  const prefix = `${EXECUTE_PATH}/`;
  if (!path.startsWith(prefix)) return null;
  const name = path.slice(prefix.length).split(/[?#]/)[0].replace(/\/$/, "");
  return name && !name.includes("/") ? decodeURIComponent(name) : null;
}

/**
 * A redirect `source` (path-to-regexp syntax) as a RegExp, close enough to tell whether it
 * catches a cron path: `:name`, `:name?`, `:name*`, `:name+` and `(regex)` groups. Null when
 * the pattern is beyond this approximation.
 */
export function redirectSourceRegExp(source: string): RegExp | null {
  let out = "";
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    if (ch === "/" && source[i + 1] === ":") {
      const m = /^\/:([A-Za-z0-9_]+)(\([^)]*\))?([?*+])?/.exec(source.slice(i));
      if (m) {
        const inner = m[2] ? m[2].slice(1, -1) : "[^/]+";
        out += m[3] === "*" ? `(?:/${m[2] ? inner : ".*"})?` : m[3] === "+" ? `/${m[2] ? inner : ".+"}` : m[3] === "?" ? `(?:/${inner})?` : `/${inner}`;
        i += m[0].length;
        continue;
      }
    }
    if (ch === "(") {
      const end = source.indexOf(")", i);
      if (end < 0) return null;
      out += `(?:${source.slice(i + 1, end)})`;
      i = end + 1;
      continue;
    }
    if (ch === ":") {
      const m = /^:([A-Za-z0-9_]+)([?*+])?/.exec(source.slice(i));
      if (m) {
        out += m[2] === "*" || m[2] === "+" ? ".*" : "[^/]+";
        i += m[0].length;
        continue;
      }
    }
    out += ch.replace(/[.*+?^${}|[\]\\]/g, "\\$&");
    i++;
  }
  try {
    return new RegExp(`^${out}/?$`);
  } catch {
    return null;
  }
}

/** A `functions` glob ("app/api/**\/*.ts") as a RegExp; square brackets are literal (route segments). */
export function functionsGlobRegExp(glob: string): RegExp {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === "*" && glob[i + 1] === "*") {
      out += glob[i + 2] === "/" ? "(?:.*/)?" : ".*";
      i += glob[i + 2] === "/" ? 2 : 1;
    } else if (ch === "*") out += "[^/]*";
    else if (ch === "?") out += "[^/]";
    else out += ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^(?:src/)?${out}$`);
}

/**
 * Checks vercel.json against the registry and the plan. Errors make Vercel reject the
 * deployment or leave jobs unrun; warnings are settings that make Vercel Cron misbehave
 * quietly (Vercel Cron calls each path with GET once, follows no redirect and never retries).
 */
export function checkVercelConfig(input: VercelCheckInput): VercelCheckReport {
  const { jobs, plan } = input;
  const now = input.now ?? new Date();
  const errors: VercelCheckIssue[] = [];
  const warnings: VercelCheckIssue[] = [];
  const error = (issue: Omit<VercelCheckIssue, "severity">) => errors.push({ severity: "error", ...issue });
  const warn = (issue: Omit<VercelCheckIssue, "severity">) => warnings.push({ severity: "warning", ...issue });
  const expected = vercelCronsFor(jobs, plan);
  const sync = plan === "hobby" ? "crondeck vercel sync --plan hobby" : "crondeck vercel sync";
  const emptyDiff: CronDiff = { missing: [], extra: [], different: [] };
  const notes = routeNotes(jobs, plan, now);

  if (!isRecord(input.vercelJson)) {
    error({ code: "invalid_file", message: `vercel.json must hold a JSON object: run \`${sync}\` to write one` });
    return { ok: false, plan, crons: 0, expected, diff: emptyDiff, errors, warnings, notes };
  }
  const vercelJson = input.vercelJson;
  if (vercelJson.crons !== undefined && !Array.isArray(vercelJson.crons)) {
    error({ code: "invalid_crons", message: `"crons" must be an array of { path, schedule }: run \`${sync}\`` });
  }
  const rawCrons = Array.isArray(vercelJson.crons) ? vercelJson.crons : [];
  rawCrons.forEach((c, i) => {
    if (!isRecord(c) || typeof c.path !== "string" || typeof c.schedule !== "string") {
      error({ code: "invalid_cron_entry", message: `crons[${i}] must be an object with a string "path" and "schedule"` });
    }
  });
  const crons = cronsOf(vercelJson);
  const byName = new Map(jobs.map((j) => [j.name, j]));

  // 1. The file against the registry.
  const diff = diffCrons(crons, expected);
  for (const c of diff.missing) {
    const job = jobNameOfPath(c.path);
    error({
      code: "missing_cron",
      path: c.path,
      ...(job ? { job } : {}),
      message: `${c.path} (${c.schedule}) is missing: ${job ? `job "${job}" would never be triggered by Vercel Cron` : "the tick would never run (no abandoned-run sweep, retries or missed-slot checks)"}; run \`${sync}\``,
    });
  }
  for (const c of diff.different) {
    error({ code: "different_schedule", path: c.path, ...(jobNameOfPath(c.path) ? { job: jobNameOfPath(c.path)! } : {}), message: `${c.path} runs "${c.schedule}" in vercel.json but the registry says "${c.expected}" for the ${plan} plan; run \`${sync}\`` });
  }
  for (const c of diff.extra) {
    const name = jobNameOfPath(c.path);
    const job = name ? byName.get(name) : undefined;
    if (job && job.schedule.kind !== "every" && job.schedule.kind !== "once" && job.schedule.timezone !== "UTC") {
      warn({
        code: "timezone_cron",
        path: c.path,
        job: job.name,
        message: `${c.path} fires "${c.schedule}" in UTC, but job "${job.name}" is scheduled in ${job.schedule.timezone}: Vercel Cron knows only UTC, so these calls land on the wrong slot and are skipped as duplicates. The tick dispatches timezone jobs; remove this entry (\`${sync}\`)`,
      });
    } else if (job) {
      const route = routeOnPlan(job, plan);
      const written = scheduleNotation(job.schedule);
      const why =
        route.via === "tick" && route.reason === "hobby_frequency"
          ? `job "${job.name}" fires more than once a day ("${written}"), which Hobby refuses for a cron, so the tick dispatches it on the ${plan} plan`
          : route.via === "tick" && route.reason === "day_of_month_and_week"
            ? `job "${job.name}" sets both day of month and day of week ("${written}"), which Vercel Cron does not support, so the tick dispatches it`
            : route.via === "tick" && (route.reason === "interval" || route.reason === "once")
              ? `job "${job.name}" is ${route.reason === "interval" ? `an interval ("${written}"), which no cron can say` : `a one-time job ("${written}"), which no cron can say`}: the tick dispatches it, and each call of this entry would only repeat a slot the tick runs (a duplicate)`
              : `job "${job.name}" is dispatched by the tick`;
      error({ code: "extra_cron", path: c.path, job: job.name, message: `${c.path} is in vercel.json but ${why}; remove it with \`${sync}\`` });
    } else if (name) {
      error({ code: "extra_cron", path: c.path, job: name, message: `${c.path} names no job in the registry (Vercel Cron would get 404 job_not_found); remove it with \`${sync}\` or add the job to lib/jobs/index.ts` });
    } else if (c.path.startsWith("/api/cron/") || c.path === "/api/cron") {
      warn({ code: "unknown_cron_route", path: c.path, message: `${c.path} is not a Crondeck route (${EXECUTE_PATH}/<job> or ${TICK_PATH})` });
    } else {
      warn({
        code: "path_outside_api_cron",
        path: c.path,
        message: `${c.path} is outside /api/cron: Crondeck does not claim, log or retry it, and Vercel sends the CRON_SECRET only as a header your route must check itself`,
      });
    }
  }

  // 2. Each cron entry on its own.
  const seen = new Set<string>();
  for (const c of crons) {
    if (seen.has(c.path)) warn({ code: "duplicate_cron", path: c.path, message: `${c.path} is listed twice: Vercel calls it twice per occurrence (the second call is skipped as a duplicate)` });
    seen.add(c.path);
    if (!c.path.startsWith("/")) error({ code: "invalid_path", path: c.path, message: `cron path "${c.path}" must start with "/"` });
    const expressionError = cronExpressionError(c.schedule);
    if (expressionError) {
      error({ code: "invalid_schedule", path: c.path, message: `${c.path}: ${expressionError}` });
      continue;
    }
    // What Vercel refuses at deploy time is an error: a deployment that fails runs no job at all.
    for (const issue of vercelScheduleIssues(c.schedule)) {
      (issue.severity === "error" ? error : warn)({ code: issue.code, path: c.path, message: `${c.path}: ${issue.message}; run \`${sync}\`` });
    }
    if (plan === "hobby" && !isOncePerDay(c.schedule)) {
      error({
        code: "hobby_frequency",
        path: c.path,
        message: `${c.path} ("${c.schedule}") would run more than once a day: Hobby allows one run a day per cron and fails the deployment ("Hobby accounts are limited to daily cron jobs"); run \`${sync}\`, or use the Pro plan`,
      });
    }
  }
  if (crons.length > VERCEL_CRON_LIMIT) {
    error({ code: "cron_limit", message: `vercel.json has ${crons.length} crons; Vercel allows at most ${VERCEL_CRON_LIMIT} per project: move some jobs to the tick (dispatch: "tick")` });
  }

  // 3. The plan: a job that cannot run as its schedule says (on Hobby, through the daily tick) is
  // reported, with the ways out; the file is right for the plan, so this is a warning.
  for (const note of notes) {
    if (note.level === "warning") warn({ code: "not_as_scheduled_on_plan", job: note.job, message: note.message });
  }

  // 4. Settings that make Vercel Cron fail without a trace: it does not follow redirects.
  if (vercelJson.trailingSlash === true) {
    error({
      code: "trailing_slash",
      message: "trailingSlash is true: Vercel answers every cron path with a 308 redirect to add a slash, and Vercel Cron does not follow redirects, so no job runs. Set \"trailingSlash\": false",
    });
  }
  const cronPaths = [...new Set([...crons.map((c) => c.path), ...expected.map((c) => c.path)])];
  if (Array.isArray(vercelJson.redirects)) {
    for (const redirect of vercelJson.redirects) {
      if (!isRecord(redirect) || typeof redirect.source !== "string") continue;
      const re = redirectSourceRegExp(redirect.source);
      const caught = re ? cronPaths.filter((p) => re.test(p.split("?")[0])) : [];
      if (caught.length > 0) {
        error({
          code: "redirect_cron_path",
          path: caught[0],
          message: `redirect "${redirect.source}" catches ${caught.length === 1 ? caught[0] : `${caught.length} cron paths (${caught.slice(0, 3).join(", ")}${caught.length > 3 ? ", ..." : ""})`}: Vercel Cron does not follow redirects, so those jobs never run. Exclude /api/cron from the redirect`,
        });
      } else if (!re && redirect.source.startsWith("/api")) {
        warn({ code: "redirect_unchecked", message: `redirect "${redirect.source}" could not be checked against the cron paths: make sure it does not catch /api/cron` });
      }
    }
  }

  // 5. Function duration: the platform stops the execute route at its maxDuration, whatever a job's timeout says.
  const routeMax = input.executeMaxDurationSeconds ?? INVOCATION_MAX_SECONDS;
  let effectiveMax = routeMax;
  let maxSource = `the execute route's maxDuration (${routeMax}s)`;
  if (isRecord(vercelJson.functions)) {
    for (const [glob, config] of Object.entries(vercelJson.functions)) {
      if (!isRecord(config) || typeof config.maxDuration !== "number") continue;
      if (config.maxDuration > PLAN_MAX_DURATION_SECONDS[plan]) {
        error({ code: "max_duration_limit", message: `functions["${glob}"].maxDuration is ${config.maxDuration}s; the ${plan} plan allows at most ${PLAN_MAX_DURATION_SECONDS[plan]}s` });
      }
      if ((glob === EXECUTE_ROUTE_FILE || functionsGlobRegExp(glob).test(EXECUTE_ROUTE_FILE)) && config.maxDuration < effectiveMax) {
        effectiveMax = config.maxDuration;
        maxSource = `functions["${glob}"].maxDuration (${config.maxDuration}s)`;
      }
    }
  }
  if (PLAN_MAX_DURATION_SECONDS[plan] < effectiveMax) {
    effectiveMax = PLAN_MAX_DURATION_SECONDS[plan];
    maxSource = `the ${plan} plan's longest function duration (${effectiveMax}s)`;
  }
  for (const job of jobs) {
    if (job.timeoutMs + FINISH_MARGIN_MS <= effectiveMax * 1000) continue;
    warn({
      code: "max_duration_below_timeout",
      job: job.name,
      message:
        effectiveMax < routeMax
          ? `job "${job.name}" has a ${formatDurationMs(job.timeoutMs)} timeout but ${maxSource} is shorter: the platform kills the function before the timeout and the run is only marked abandoned when its lease expires. Raise maxDuration or lower the timeout`
          : `job "${job.name}" has a ${formatDurationMs(job.timeoutMs)} timeout, longer than ${maxSource} allows: it times out after about ${effectiveMax - FINISH_MARGIN_MS / 1000}s`,
    });
  }

  return { ok: errors.length === 0, plan, crons: crons.length, expected, diff, errors, warnings, notes };
}
