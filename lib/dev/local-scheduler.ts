import { slotAt } from "../cron/schedule";
import { EXECUTE_PATH, TICK_PATH, vercelCronHeaders, type VercelCron } from "../vercel/crons";

export interface LocalSchedulerOptions {
  crons: VercelCron[];
  baseUrl: string;
  secret: string;
  now?: () => Date;
  fetch?: typeof globalThis.fetch;
  log?: (line: string) => void;
}

const keyOf = (cron: VercelCron) => `${cron.path} ${cron.schedule}`;

/**
 * Vercel Cron, emulated for `npm run dev`: each cron is called with GET at its UTC schedule,
 * with the headers Vercel sends (Bearer secret, user-agent vercel-cron/1.0,
 * x-vercel-cron-schedule). Like Vercel Cron it does not retry and does not fire slots that
 * passed while it was not running (nor slots from before a cron was added by {@link setCrons}).
 */
export class LocalScheduler {
  private readonly lastFired = new Map<string, number>();
  private crons: VercelCron[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly now: () => Date;

  constructor(private readonly opts: LocalSchedulerOptions) {
    this.now = opts.now ?? (() => new Date());
    this.setCrons(opts.crons);
  }

  /** The crons it fires now. */
  current(): VercelCron[] {
    return [...this.crons];
  }

  /**
   * Replaces the crons it fires. A cron it already had keeps its last slot; a new one (or one
   * whose schedule changed) starts from now: its first call is its next slot. Returns what changed.
   */
  setCrons(crons: readonly VercelCron[], now: Date = this.now()): { added: VercelCron[]; removed: VercelCron[] } {
    const next = new Map<string, VercelCron>();
    for (const cron of crons) next.set(keyOf(cron), { path: cron.path, schedule: cron.schedule });
    const added = [...next.entries()].filter(([key]) => !this.lastFired.has(key)).map(([, cron]) => cron);
    const removed = this.crons.filter((cron) => !next.has(keyOf(cron)));
    for (const cron of removed) this.lastFired.delete(keyOf(cron));
    // vercel.json crons are unbounded UTC crons: slotAt always finds a slot (null is only for bounded and one-time schedules).
    for (const cron of added) this.lastFired.set(keyOf(cron), slotAt({ cron: cron.schedule, timezone: "UTC" }, now)!.getTime());
    this.crons = [...next.values()];
    return { added, removed };
  }

  /** The crons whose next slot has come since they last fired, and marks them fired. */
  takeDue(now: Date = this.now()): VercelCron[] {
    const due: VercelCron[] = [];
    for (const cron of this.crons) {
      const slot = slotAt({ cron: cron.schedule, timezone: "UTC" }, now)!.getTime();
      if (slot > (this.lastFired.get(keyOf(cron)) ?? Infinity)) {
        this.lastFired.set(keyOf(cron), slot);
        due.push(cron);
      }
    }
    return due;
  }

  /** Calls one cron path the way Vercel Cron does; resolves with the HTTP status (or null). */
  async fire(cron: VercelCron): Promise<number | null> {
    const doFetch = this.opts.fetch ?? globalThis.fetch;
    try {
      const response = await doFetch(new URL(cron.path, this.opts.baseUrl), {
        method: "GET",
        redirect: "manual",
        headers: vercelCronHeaders(this.opts.secret, cron.schedule),
      });
      const body = (await response.json().catch(() => null)) as { skipped?: boolean; reason?: string; execution?: { status?: string } } | null;
      const what = body?.skipped ? `skipped (${body.reason})` : (body?.execution?.status ?? "");
      this.opts.log?.(`[cron] GET ${cron.path} -> ${response.status} ${what}`.trimEnd());
      return response.status;
    } catch (error) {
      this.opts.log?.(`[cron] GET ${cron.path} failed: ${(error as Error).message}`);
      return null;
    }
  }

  /** Checks every second; each due cron fires in the background. */
  start(): void {
    this.timer = setInterval(() => {
      for (const cron of this.takeDue()) void this.fire(cron);
    }, 1_000);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** A job as GET /api/cron/jobs lists it (the fields the local scheduler reads). */
export interface RegistryJob {
  name: string;
  schedule: string;
  timezone: string;
  dispatch: "vercel" | "tick";
  category?: string;
}

/** What a cron path runs, for the terminal: the job's name, or "the tick". */
export function cronLabel(path: string): string {
  if (path === TICK_PATH) return "the tick";
  return path.startsWith(`${EXECUTE_PATH}/`) ? decodeURIComponent(path.slice(EXECUTE_PATH.length + 1)) : path;
}

/**
 * The crons the local scheduler fires: vercel.json's (what Vercel Cron would call), plus each
 * job of the running app's registry that Vercel Cron dispatches and vercel.json lacks, so a
 * new job runs in `npm run dev` before `npm run cron:sync`. Those jobs are also returned in
 * `notInVercelJson`: they will not run on Vercel until vercel.json lists them. Tick-dispatched
 * jobs need no cron of their own: the tick's cron fires them.
 */
export function schedulerCrons(vercelCrons: readonly VercelCron[], registry: readonly RegistryJob[] | null): { crons: VercelCron[]; notInVercelJson: RegistryJob[] } {
  const paths = new Set(vercelCrons.map((c) => c.path));
  const notInVercelJson = (registry ?? []).filter((job) => job.dispatch === "vercel" && !paths.has(`${EXECUTE_PATH}/${job.name}`));
  return {
    crons: [...vercelCrons.map((c) => ({ path: c.path, schedule: c.schedule })), ...notInVercelJson.map((job) => ({ path: `${EXECUTE_PATH}/${job.name}`, schedule: job.schedule }))],
    notInVercelJson,
  };
}

export interface ScheduleFollowerOptions {
  scheduler: LocalScheduler;
  /** vercel.json's crons; throws when the file cannot be read or parsed (the last good crons are kept). */
  readVercelCrons: () => VercelCron[];
  /** The running app's registry; null when the app does not answer (the last registry seen is kept). */
  fetchRegistry: () => Promise<RegistryJob[] | null>;
  log: (line: string) => void;
  /** Called with the crons after the first refresh and after every change. */
  onChange?: (crons: VercelCron[]) => void;
}

/**
 * Keeps the local scheduler in step with vercel.json and the running app's registry (Next.js
 * reloads lib/jobs on change): each {@link refresh} re-reads both and says in the terminal
 * what it picked up or dropped, and, once per job, that a job vercel.json lacks will not run on
 * Vercel until `npm run cron:sync`.
 */
export class ScheduleFollower {
  private vercelCrons: VercelCron[] | null = null;
  private vercelError: string | null = null;
  private registry: RegistryJob[] | null = null;
  private readonly warned = new Set<string>();
  private first = true;

  constructor(private readonly opts: ScheduleFollowerOptions) {}

  async refresh(): Promise<{ added: VercelCron[]; removed: VercelCron[] }> {
    try {
      this.vercelCrons = this.opts.readVercelCrons();
      this.vercelError = null;
    } catch (error) {
      const message = (error as Error).message;
      if (message !== this.vercelError) this.opts.log(`[crondeck] local scheduler: cannot read vercel.json (${message}); keeping the crons it had`);
      this.vercelError = message;
    }
    const registry = await this.opts.fetchRegistry().catch(() => null);
    if (registry) this.registry = registry;
    const fromFile = this.vercelCrons ?? [];
    const { crons, notInVercelJson } = schedulerCrons(fromFile, this.registry);
    const change = this.opts.scheduler.setCrons(crons);
    // At start vercel.json's crons are announced by the banner; what the registry adds is news.
    const filePaths = new Set(fromFile.map((c) => c.path));
    for (const cron of change.added) if (!this.first || !filePaths.has(cron.path)) this.opts.log(`[crondeck] local scheduler: picked up ${cronLabel(cron.path)} (${cron.schedule})`);
    for (const cron of change.removed) this.opts.log(`[crondeck] local scheduler: dropped ${cronLabel(cron.path)} (${cron.schedule})`);
    for (const job of notInVercelJson) {
      if (this.warned.has(job.name)) continue;
      this.warned.add(job.name);
      this.opts.log(`[crondeck] ${job.name} is in the registry but not in vercel.json: it runs here, but not on Vercel until \`npm run cron:sync\``);
    }
    for (const name of [...this.warned]) if (!notInVercelJson.some((job) => job.name === name)) this.warned.delete(name);
    if (this.first || change.added.length > 0 || change.removed.length > 0) this.opts.onChange?.(this.opts.scheduler.current());
    this.first = false;
    return change;
  }
}

/**
 * The query the follower's polls carry, so next.config.mjs can keep them out of the dev
 * server's request log (`logging.incomingRequests.ignore`).
 */
export const POLL_QUERY = "via=local-scheduler";

/** GET /api/cron/jobs on the running app, as the follower's `fetchRegistry` (null when it does not answer 200). */
export function registryFetcher(baseUrl: string, secret: string, doFetch: typeof globalThis.fetch = globalThis.fetch, timeoutMs = 10_000): () => Promise<RegistryJob[] | null> {
  return async () => {
    try {
      const response = await doFetch(new URL(`/api/cron/jobs?${POLL_QUERY}`, baseUrl), { headers: { authorization: `Bearer ${secret}` }, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
      if (response.status !== 200) return null;
      const body = (await response.json()) as { jobs?: unknown };
      if (!Array.isArray(body.jobs)) return null;
      return body.jobs.filter(
        (j): j is RegistryJob => typeof j === "object" && j !== null && typeof j.name === "string" && typeof j.schedule === "string" && (j.dispatch === "vercel" || j.dispatch === "tick"),
      );
    } catch {
      return null;
    }
  };
}
