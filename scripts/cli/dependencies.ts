import { jobDependencies } from "../../lib/app/dependencies";
import type { CliContext } from "./context";
import { EXIT_OK, UsageError } from "./errors";
import { table } from "./format";
import type { CommandInput } from "./spec";

function slotsOption(input: CommandInput): number {
  const raw = input.options.slots;
  if (raw === undefined) return 5;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 50) throw new UsageError(`--slots takes a whole number from 1 to 50; got "${String(raw).slice(0, 20)}"`);
  return n;
}

function beforeOption(input: CommandInput): Date | null {
  const raw = input.options.before;
  if (raw === undefined) return null;
  const at = new Date(String(raw));
  if (!/^\d{4}-\d\d-\d\dT/.test(String(raw)) || Number.isNaN(at.getTime())) throw new UsageError(`--before "${String(raw).slice(0, 40)}" is not an ISO 8601 instant: write it like 2026-11-24T10:00:00Z`);
  return at;
}

const hhmm = (iso: string) => iso.replace("T", " ").slice(0, 16);

/** crondeck jobs deps <job>: the chain, and per recent slot each upstream's state and why it waits. */
export async function jobsDeps(ctx: CliContext, input: CommandInput): Promise<number> {
  const slots = slotsOption(input);
  const job = ctx.job(input.args[0]);
  const { db } = await ctx.database();
  const view = await jobDependencies(db, ctx.registry(), job, ctx.env().CRON_PLAN, { now: ctx.now(), slots, before: beforeOption(input) });
  ctx.out.result({ ok: true, ...view }, () => {
    const lines = [
      `${view.jobName}`,
      `  chain       ${view.chain.join(" -> ")}`,
      `  depends on  ${view.dependsOn.length ? view.dependsOn.join(", ") : "nothing"}`,
      `  dependents  ${view.dependents.length ? view.dependents.join(", ") : "none"}`,
    ];
    if (view.slots.length === 0) return lines;
    const rows = view.slots.map((s) => [
      hhmm(s.slot),
      s.skippedUpstreamFailed ? "skipped (upstream_failed)" : (s.status ?? (s.upstreamState === "waiting" ? "waiting" : "-")),
      s.upstreams.map((u) => `${u.jobName} ${u.state}`).join(", "),
      ctx.redact(s.reason ?? ""),
    ]);
    return [...lines, "", table(["SLOT (UTC)", "THIS JOB", "UPSTREAMS", "WHY"], rows)];
  });
  return EXIT_OK;
}
