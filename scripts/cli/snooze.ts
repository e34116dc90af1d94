import { nextSlotOf, parseInstant, skipNextRun, snoozeJob, unskipRun, unsnoozeJob } from "../../lib/app/operations/snooze";
import type { JobRuntimeState } from "../../lib/db/queries/jobs";
import { formatDuration } from "../../lib/format";
import type { CliContext } from "./context";
import { EXIT_OK, UsageError } from "./errors";
import { formatRelative, formatTime } from "./format";
import type { CommandInput } from "./spec";

/**
 * Skip-next and snooze from the terminal: the admin API's operations (lib/app/operations/snooze.ts),
 * with the CLI's actor. Each prints the job's snooze state after the change.
 */

/** A string option, trimmed; absent or blank: null. */
function textOption(input: CommandInput, name: string): string | null {
  const value = input.options[name];
  return typeof value === "string" && value.trim() ? value.trim() : null;
}

function instantOption(input: CommandInput, name: string): Date | null {
  const value = textOption(input, name);
  if (value === null) return null;
  try {
    return parseInstant(value, name);
  } catch {
    throw new UsageError(`--${name} "${value.slice(0, 40)}" is not an ISO 8601 instant with a zone: write it as 2026-03-29T01:00:00Z or 2026-03-29T03:00:00+02:00.`, `invalid_${name}`);
  }
}

/** The snooze state a command answers with (also in --json). */
function snoozeState(state: JobRuntimeState, now: Date) {
  const active = state.snoozedUntil !== null && new Date(state.snoozedUntil).getTime() > now.getTime();
  return {
    snoozed: active,
    snoozedUntil: active ? state.snoozedUntil : null,
    snoozeReason: active ? state.snoozeReason : null,
    snoozedBy: active ? state.snoozedBy : null,
    skipSlots: state.skipSlots.filter((s) => new Date(s).getTime() > now.getTime()),
    paused: state.paused,
  };
}

function stateLines(jobName: string, state: ReturnType<typeof snoozeState>, now: Date): string[] {
  const lines: string[] = [];
  if (state.snoozed) lines.push(`  snoozed   until ${formatTime(state.snoozedUntil)} (${formatRelative(state.snoozedUntil!, now)}) by ${state.snoozedBy}${state.snoozeReason ? `: ${state.snoozeReason}` : ""}`);
  if (state.skipSlots.length) lines.push(`  skipping  ${state.skipSlots.map((s) => formatTime(s)).join(", ")}`);
  if (state.paused) lines.push(`  note: ${jobName} is also paused, which skips every scheduled run: \`crondeck jobs resume ${jobName}\``);
  return lines;
}

export async function jobsSkipNext(ctx: CliContext, input: CommandInput): Promise<number> {
  const job = ctx.job(input.args[0]);
  const slot = instantOption(input, "slot");
  const now = ctx.now();
  const result = await skipNextRun(await ctx.ops(), ctx.actor, { job, slot, note: textOption(input, "note"), now });
  const state = snoozeState(result.state, now);
  ctx.out.result({ ok: true, job: job.name, action: "skip-next", slot: result.slot, changed: result.changed, ...state }, () => [
    result.changed
      ? `${job.name}: the run at ${formatTime(result.slot)} (${formatRelative(result.slot, now)}) will be skipped; undo: \`crondeck jobs unskip ${job.name} --slot ${result.slot}\``
      : `${job.name}: the run at ${formatTime(result.slot)} was already to be skipped; nothing changed`,
    ...stateLines(job.name, state, now),
  ]);
  return EXIT_OK;
}

export async function jobsUnskip(ctx: CliContext, input: CommandInput): Promise<number> {
  const job = ctx.job(input.args[0]);
  const slot = instantOption(input, "slot");
  const now = ctx.now();
  const result = await unskipRun(await ctx.ops(), ctx.actor, { job, slot, now });
  const state = snoozeState(result.state, now);
  ctx.out.result({ ok: true, job: job.name, action: "unskip", removed: result.removed, changed: result.removed.length > 0, ...state }, () => [
    result.removed.length > 0
      ? `${job.name} runs again at ${result.removed.map((s) => formatTime(s)).join(", ")}`
      : `${job.name} had ${slot ? `no skip at ${formatTime(slot.toISOString())}` : "no slot to skip"}; nothing changed`,
    ...stateLines(job.name, state, now),
  ]);
  return EXIT_OK;
}

export async function jobsSnooze(ctx: CliContext, input: CommandInput): Promise<number> {
  const job = ctx.job(input.args[0]);
  const until = instantOption(input, "until");
  const forDuration = textOption(input, "for");
  if ((until === null) === (forDuration === null)) {
    throw new UsageError(`give --until <iso> or --for <duration>, one of them: crondeck jobs snooze ${job.name} --for 2h [--note text]`, "invalid_until");
  }
  const now = ctx.now();
  const result = await snoozeJob(await ctx.ops(), ctx.actor, { job, until, for: forDuration, note: textOption(input, "note"), now });
  const state = snoozeState(result.state, now);
  const next = nextSlotOf(job, new Date(new Date(result.until).getTime() - 1));
  ctx.out.result({ ok: true, job: job.name, action: "snooze", until: result.until, replaced: result.replaced, nextRunAt: next?.toISOString() ?? null, ...state }, () => [
    `snoozed ${job.name} until ${formatTime(result.until)} (${formatDuration(new Date(result.until).getTime() - now.getTime())})${result.replaced ? `, instead of ${formatTime(result.replaced)}` : ""}: its scheduled runs until then are skipped`,
    next ? `  next run  ${formatTime(next.toISOString())}` : `  ${job.name} has no slot after the snooze`,
    ...stateLines(job.name, state, now),
    `  end it early: \`crondeck jobs unsnooze ${job.name}\``,
  ]);
  return EXIT_OK;
}

export async function jobsUnsnooze(ctx: CliContext, input: CommandInput): Promise<number> {
  const job = ctx.job(input.args[0]);
  const now = ctx.now();
  const result = await unsnoozeJob(await ctx.ops(), ctx.actor, { job, now });
  const state = snoozeState(result.state, now);
  const next = nextSlotOf(job, now);
  ctx.out.result({ ok: true, job: job.name, action: "unsnooze", ended: result.ended, changed: result.ended !== null, nextRunAt: next?.toISOString() ?? null, ...state }, () => [
    result.ended ? `ended ${job.name}'s snooze (it was until ${formatTime(result.ended)})${next ? `; next run ${formatTime(next.toISOString())}` : ""}` : `${job.name} was not snoozed; nothing changed`,
    ...stateLines(job.name, state, now),
  ]);
  return EXIT_OK;
}
