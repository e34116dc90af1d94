import { slotAt } from "../cron/schedule";
import type { VercelCron } from "../vercel/crons";

export interface LocalSchedulerOptions {
  crons: VercelCron[];
  baseUrl: string;
  secret: string;
  now?: () => Date;
  fetch?: typeof globalThis.fetch;
  log?: (line: string) => void;
}

/**
 * Vercel Cron, emulated for `npm run dev`: each vercel.json entry is called with GET at its
 * UTC schedule, with the headers Vercel sends (Bearer secret, user-agent vercel-cron/1.0,
 * x-vercel-cron-schedule). Like Vercel Cron it does not retry and does not fire slots that
 * passed while it was not running.
 */
export class LocalScheduler {
  private readonly lastFired = new Map<string, number>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly now: () => Date;

  constructor(private readonly opts: LocalSchedulerOptions) {
    this.now = opts.now ?? (() => new Date());
    const start = this.now();
    for (const cron of opts.crons) this.lastFired.set(this.key(cron), slotAt({ cron: cron.schedule, timezone: "UTC" }, start).getTime());
  }

  private key(cron: VercelCron): string {
    return `${cron.path} ${cron.schedule}`;
  }

  /** The crons whose next slot has come since they last fired, and marks them fired. */
  takeDue(now: Date = this.now()): VercelCron[] {
    const due: VercelCron[] = [];
    for (const cron of this.opts.crons) {
      const slot = slotAt({ cron: cron.schedule, timezone: "UTC" }, now).getTime();
      if (slot > (this.lastFired.get(this.key(cron)) ?? Infinity)) {
        this.lastFired.set(this.key(cron), slot);
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
        headers: { authorization: `Bearer ${this.opts.secret}`, "user-agent": "vercel-cron/1.0", "x-vercel-cron-schedule": cron.schedule },
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
