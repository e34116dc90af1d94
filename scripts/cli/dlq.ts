import { runTrigger } from "../../lib/cron/run-job";
import { beginReplay, DeadLetterError, getDeadLetter, listDeadLetters, markPermanentlyFailed, recoverJob, type DeadLetterEntry, type RecoveryStatus } from "../../lib/db/dead-letters";
import type { CliContext } from "./context";
import { CliError, EXIT_OK, UsageError } from "./errors";
import { clip, formatTime, table } from "./format";
import { printOutcome } from "./jobs";
import { intOption, stringOption, type CommandInput } from "./spec";

const STATUSES: RecoveryStatus[] = ["pending", "replayed", "resolved", "permanently_failed"];
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Replays run in this process like `jobs run`: no platform time limit. */
const CLI_BUDGET_MS = 24 * 3_600_000;

/** An entry as the CLI shows it: everything but the stack trace. */
function entryJson(entry: DeadLetterEntry) {
  const { errorStack: _stack, ...rest } = entry;
  return rest;
}

function entryId(input: CommandInput): string {
  const id = input.args[0];
  if (!UUID_RE.test(id)) throw new UsageError(`"${id}" is not a dead-letter entry id (a UUID): \`crondeck dlq list\` shows them`, "invalid_argument");
  return id;
}

function fromDeadLetterError(error: unknown): never {
  if (error instanceof DeadLetterError) {
    const fix = error.code === "dead_letter_not_found" ? " `crondeck dlq list` shows the entries." : "";
    throw new CliError(error.code, `${error.message}${fix}`);
  }
  throw error;
}

export async function dlqList(ctx: CliContext, input: CommandInput): Promise<number> {
  const status = stringOption(input, "status");
  if (status !== undefined && !STATUSES.includes(status as RecoveryStatus)) {
    throw new UsageError(`--status must be one of ${STATUSES.join(", ")}; got "${status}"`, "invalid_option");
  }
  const jobName = stringOption(input, "job");
  const limit = intOption(input, "limit", 20, { min: 1, max: 500 });
  const { db } = await ctx.database();
  const { entries, total } = await listDeadLetters(db, { status: status as RecoveryStatus | undefined, jobName, limit, offset: 0 });
  const shown = entries.map(entryJson);
  ctx.out.result({ ok: true, total, entries: shown }, () => {
    if (entries.length === 0) return status ? `No ${status} dead-letter entries.` : "The dead-letter queue is empty.";
    return [
      table(
        ["ID", "JOB", "SLOT", "STATUS", { header: "REPLAYS", right: true }, "CREATED", "REASON"],
        entries.map((e) => [e.id, e.jobName, formatTime(e.scheduledFor), e.recoveryStatus, e.replayCount, formatTime(e.createdAt), clip(ctx.redact(e.failureReason), 70)]),
      ),
      "",
      `${entries.length} of ${total} shown. Replay one with \`crondeck dlq replay <id>\`, or settle it with \`crondeck dlq mark-failed <id> --reason "..."\`.`,
    ];
  });
  return EXIT_OK;
}

export async function dlqReplay(ctx: CliContext, input: CommandInput): Promise<number> {
  const id = entryId(input);
  const { db } = await ctx.database();
  const existing = await getDeadLetter(db, id);
  if (!existing) throw new CliError("dead_letter_not_found", `No dead-letter entry ${id}. \`crondeck dlq list\` shows the entries.`);
  const job = ctx.registry().get(existing.jobName);
  if (!job) throw new CliError("job_not_found", `entry ${id} is for job "${existing.jobName}", which is not in the registry any more: settle it with \`crondeck dlq mark-failed ${id} --reason "job removed"\``);
  const entry = await beginReplay(db, id, job.deadLetter.replayLimit).catch(fromDeadLetterError);
  await ctx.audit("dead_letter.retry", id, { job: job.name, replayCount: entry.replayCount, replayOf: entry.runId });
  if (!ctx.out.json) ctx.out.note(`replaying ${job.name}${entry.scheduledFor ? ` for its ${formatTime(entry.scheduledFor)} slot` : ""} (replay ${entry.replayCount} of ${job.deadLetter.replayLimit})...`);
  const engine = await ctx.engine();
  const outcome = await runTrigger(engine, {
    job,
    trigger: "replay",
    scheduledFor: entry.scheduledFor ? new Date(entry.scheduledFor) : null,
    replayOf: entry.runId,
    actor: ctx.actor,
    budgetMs: CLI_BUDGET_MS,
  });
  return printOutcome(ctx, outcome, { entryId: id, replayCount: entry.replayCount, replayLimit: job.deadLetter.replayLimit });
}

export async function dlqRecover(ctx: CliContext, input: CommandInput): Promise<number> {
  const job = ctx.job(input.args[0]);
  const { db } = await ctx.database();
  const result = await recoverJob(db, job.name, ctx.actor);
  await ctx.audit("job.recover", job.name, result);
  ctx.out.result({ ok: true, job: job.name, ...result }, () =>
    result.wasDeadLettered || result.wasPaused
      ? `recovered ${job.name}: ${[result.wasDeadLettered && "no longer dead-lettered", result.wasPaused && "no longer paused"].filter(Boolean).join(", ")}; failure counters reset. Its pending entries stay in \`crondeck dlq list\`.`
      : `${job.name} was neither dead-lettered nor paused; its failure counters are reset.`,
  );
  return EXIT_OK;
}

export async function dlqMarkFailed(ctx: CliContext, input: CommandInput): Promise<number> {
  const id = entryId(input);
  const reason = stringOption(input, "reason")?.trim();
  if (!reason) throw new UsageError(`--reason is required: crondeck dlq mark-failed ${id} --reason "why it will not be retried"`, "missing_option");
  const { db } = await ctx.database();
  const entry = await markPermanentlyFailed(db, id, reason, ctx.actor).catch(fromDeadLetterError);
  await ctx.audit("dead_letter.mark_failed", id, { job: entry.jobName, reason });
  ctx.out.result({ ok: true, entry: entryJson(entry) }, () => `marked entry ${id} (${entry.jobName}) permanently failed: ${reason}`);
  return EXIT_OK;
}
