import type { CliContext } from "./context";
import { formatRatio, table } from "./format";

/** What the contention test reports, and how it shows it (the live line on stderr, the summary on stdout). */

export interface InstanceStats {
  instance: number;
  port: number;
  triggers: number;
  /** Triggers this instance ran: it won the slot and the lease. */
  locksAcquired: number;
  /** Triggers it answered with a skip: another holder had the slot or the lease. */
  locksMissed: number;
  errors: number;
  /** This instance's share of all runs. */
  participation: number | null;
}

export interface StressReport {
  ok: boolean;
  job: string;
  instances: number;
  concurrency: number;
  durationSeconds: number;
  elapsedSeconds: number;
  /** Requests sent (every one is recorded as a row: a run or a skip). */
  triggers: number;
  triggersPerSecond: number;
  /** Runs: triggers that won their slot and the job's lease. */
  executions: number;
  completed: number;
  failed: number;
  skipped: number;
  skipReasons: Record<string, number>;
  /** Slots with more than one run in the database: must be 0. */
  duplicates: number;
  duplicateSlots: Array<{ slot: string; runs: number }>;
  errors: number;
  errorSamples: string[];
  /** Share of triggers that lost (skipped). */
  contentionRate: number | null;
  /** Mean run duration recorded in the database, ms. */
  averageDurationMs: number | null;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  slots: { touched: number; withRun: number; runBeforeTest: number };
  perInstance: InstanceStats[];
  database: { rows: number; executions: number; completed: number; failed: number; skipped: number };
  codeVersion: string;
  cleanedUp: boolean;
  problems: string[];
}

export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function renderReport(r: StressReport): string[] {
  const lines = [
    `Contention test: ${r.job}, ${r.instances} instance${r.instances === 1 ? "" : "s"} x ${r.concurrency} in flight, ${r.elapsedSeconds}s`,
    "",
    table(
      ["", { header: "", right: true }],
      [
        ["triggers", `${r.triggers} (${r.triggersPerSecond}/s)`],
        ["executions", r.executions],
        ["  completed", r.completed],
        ["  failed", r.failed],
        ["skipped", r.skipped],
        ...Object.entries(r.skipReasons).map(([reason, n]) => [`  ${reason}`, n]),
        ["duplicates", `${r.duplicates}${r.duplicates === 0 ? " (checked per slot in the database)" : " !!"}`],
        ["errors", r.errors],
        ["contention rate", formatRatio(r.contentionRate)],
        ["average run duration", r.averageDurationMs === null ? "-" : `${r.averageDurationMs} ms`],
        ["latency p50 / p95 / p99", `${r.latencyMs.p50 ?? "-"} / ${r.latencyMs.p95 ?? "-"} / ${r.latencyMs.p99 ?? "-"} ms`],
        ["slots contended", `${r.slots.touched} (${r.slots.withRun} ran${r.slots.runBeforeTest ? `, ${r.slots.runBeforeTest} had run before the test` : ""})`],
      ],
    )
      .split("\n")
      .slice(1)
      .map((l) => `  ${l}`)
      .join("\n"),
    "",
    table(
      ["INSTANCE", "PORT", { header: "TRIGGERS", right: true }, { header: "LOCKS ACQUIRED", right: true }, { header: "LOCKS MISSED", right: true }, { header: "ERRORS", right: true }, { header: "PARTICIPATION", right: true }],
      r.perInstance.map((s) => [s.instance, s.port, s.triggers, s.locksAcquired, s.locksMissed, s.errors, formatRatio(s.participation)]),
    ).replace(/^/gm, "  "),
    "",
    r.cleanedUp ? `Rows tagged ${r.codeVersion} deleted (--cleanup).` : `Rows are tagged code_version = '${r.codeVersion}' (--cleanup deletes them).`,
  ];
  lines.push(r.ok ? "PASS: no slot ran twice." : `FAIL: ${r.problems.join("; ")}`);
  return lines;
}

/** The live line on stderr: rewritten in place on a terminal, a line every 5 s otherwise. */
export function startProgress(ctx: CliContext, durationSeconds: number, read: () => { sent: number; completed: number; failed: number; perInstance: InstanceStats[] }) {
  const tty = Boolean(process.stderr.isTTY);
  const t0 = Date.now();
  const render = () => {
    const s = read();
    const elapsed = (Date.now() - t0) / 1000;
    const missed = s.perInstance.reduce((n, i) => n + i.locksMissed, 0);
    const errors = s.perInstance.reduce((n, i) => n + i.errors, 0);
    return `  ${elapsed.toFixed(0).padStart(String(durationSeconds).length)}s/${durationSeconds}s  ${s.sent} triggers (${elapsed > 0 ? Math.round(s.sent / elapsed) : 0}/s)  ran ${s.completed + s.failed} (failed ${s.failed})  skipped ${missed}  errors ${errors}`;
  };
  const timer = setInterval(
    () => {
      if (tty) process.stderr.write(`\r${render().padEnd(100)}`);
      else ctx.out.note(render());
    },
    tty ? 250 : 5_000,
  );
  return {
    stop() {
      clearInterval(timer);
      if (tty) process.stderr.write(`\r${render().padEnd(100)}\n`);
      else ctx.out.note(render());
    },
  };
}
