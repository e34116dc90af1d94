import { markFailed, prepareBulkReplay, prepareReplay, settleSelection } from "../../lib/app/operations/dead-letters";
import { recoverJobNow } from "../../lib/app/operations/jobs";
import { JOB_NAME_RE } from "../../lib/cron/define-job";
import { isUuid } from "../../lib/cron/ids";
import { DEAD_LETTER_BULK_ACTIONS, PRIORITIES, RECOVERY_STATUSES, type DeadLetterBulkAction, type Priority, type RecoveryStatus } from "../../lib/cron/vocabulary";
import type { DeadLetterSelection } from "../../lib/db/queries/dead-letters";
import { deadLetterInsight, INSIGHT_DEFAULT_DAYS, INSIGHT_MAX_DAYS } from "../../lib/db/queries/dead-letter-insight";
import { listDeadLetters, type DeadLetterEntry } from "../../lib/db/queries/dead-letters";
import { formatDuration } from "../../lib/format";
import type { CliContext } from "./context";
import { EXIT_OK, UsageError } from "./errors";
import { clip, formatTime, table } from "./format";
import { CLI_BUDGET_MS, printOutcome } from "./jobs";
import { intOption, stringOption, type CommandInput } from "./spec";
import { inputOption } from "./input";

/** An entry as the CLI shows it: everything but the stack trace. */
function entryJson(entry: DeadLetterEntry) {
  const { errorStack: _stack, ...rest } = entry;
  return rest;
}

function entryId(input: CommandInput): string {
  const id = input.args[0];
  if (!isUuid(id)) throw new UsageError(`"${id}" is not a dead-letter entry id (a UUID): \`crondeck dlq list\` shows them`, "invalid_argument");
  return id.toLowerCase();
}

export async function dlqList(ctx: CliContext, input: CommandInput): Promise<number> {
  const status = stringOption(input, "status");
  if (status !== undefined && !(RECOVERY_STATUSES as readonly string[]).includes(status)) {
    throw new UsageError(`--status must be one of ${RECOVERY_STATUSES.join(", ")}; got "${status}"`, "invalid_option");
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

/** The admin API's replay, run here at once instead of after a response. */
export async function dlqReplay(ctx: CliContext, input: CommandInput): Promise<number> {
  const id = entryId(input);
  const edited = inputOption(input, ctx.cwd);
  const replay = await prepareReplay(await ctx.opsWithEngine(), ctx.actor, { id, ...(edited !== undefined ? { input: edited } : {}) });
  const { entry, job, replayLimit } = replay;
  if (!ctx.out.json) ctx.out.note(`replaying ${job.name}${entry.scheduledFor ? ` for its ${formatTime(entry.scheduledFor)} slot` : ""} (replay ${entry.replayCount} of ${replayLimit})...`);
  const outcome = await replay.run(CLI_BUDGET_MS);
  return printOutcome(ctx, outcome, { entryId: id, replayCount: entry.replayCount, replayLimit });
}

export async function dlqRecover(ctx: CliContext, input: CommandInput): Promise<number> {
  const job = ctx.job(input.args[0]);
  const result = await recoverJobNow(await ctx.ops(), ctx.actor, { job });
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
  const entry = await markFailed(await ctx.ops(), ctx.actor, { id, reason });
  ctx.out.result({ ok: true, entry: entryJson(entry) }, () => `marked entry ${id} (${entry.jobName}) permanently failed: ${reason}`);
  return EXIT_OK;
}

/**
 * `crondeck dlq insight [--days n] [--job name]`: what the admin API's
 * /api/admin/dead-letter-queue/insight answers, from the same query (deadLetterInsight).
 */
export async function dlqInsight(ctx: CliContext, input: CommandInput): Promise<number> {
  const days = intOption(input, "days", INSIGHT_DEFAULT_DAYS, { min: 1, max: INSIGHT_MAX_DAYS, example: 7 });
  const jobOption = stringOption(input, "job");
  // A job no longer in the registry still has its entries: only the name's shape is checked.
  if (jobOption !== undefined && !JOB_NAME_RE.test(jobOption)) throw new UsageError(`--job must be a job name such as cleanup-old-logs; got "${jobOption}"`, "invalid_option");
  const { db } = await ctx.database();
  const insight = await deadLetterInsight(db, { days, jobName: jobOption ?? null, now: ctx.now() });
  ctx.out.result({ ok: true, ...insight }, () => {
    const { totals } = insight;
    const scope = `${jobOption ? jobOption : "every job"}, last ${days} day${days === 1 ? "" : "s"} (since ${formatTime(insight.window.since)})`;
    if (totals.entries === 0) return `No dead-letter entries for ${scope}.`;
    const lines = [
      `Dead letters for ${scope}: ${totals.entries} entries, ${totals.pending} pending, ${totals.recovered} recovered, ${totals.permanentlyFailed} permanently failed.`,
      `Average time to recovery ${formatDuration(totals.avgRecoveryMs, "-")} (to any settlement ${formatDuration(totals.avgSettleMs, "-")}).`,
      "",
      "Entries per day:",
      table(["DAY", { header: "ENTRIES", right: true }], insight.perDay.filter((d) => d.entries > 0 || days <= 14).map((d) => [d.day, d.entries])),
      "",
      "Most common failure reasons (values such as numbers, ids and quoted text grouped away):",
      table(
        [{ header: "ENTRIES", right: true }, { header: "PENDING", right: true }, "JOBS", "LAST SEEN", "REASON"],
        insight.topReasons.map((r) => [r.entries, r.pending, clip(r.jobs.join(","), 40), formatTime(r.lastSeenAt), clip(ctx.redact(r.fingerprint), 80)]),
      ),
      "",
      "Per job:",
      table(
        ["JOB", { header: "ENTRIES", right: true }, { header: "PENDING", right: true }, { header: "RECOVERED", right: true }, "AVG RECOVERY"],
        insight.perJob.map((j) => [j.jobName, j.entries, j.pending, j.recovered, formatDuration(j.avgRecoveryMs, "-")]),
      ),
    ];
    return lines;
  });
  return EXIT_OK;
}

/** An ISO 8601 instant option, or a usage error naming it. */
function instantOption(input: CommandInput, name: string): Date | null {
  const raw = stringOption(input, name);
  if (raw === undefined) return null;
  const at = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(raw) ? new Date(raw.length === 10 ? `${raw}T00:00:00Z` : raw) : new Date(NaN);
  if (Number.isNaN(at.getTime())) throw new UsageError(`--${name} must be an ISO 8601 instant with a zone, such as 2026-11-24T00:00:00Z; got "${raw}"`, "invalid_option");
  return at;
}

/**
 * `crondeck dlq bulk <replay|mark_failed|resolve>`: the admin API's bulk action on the pending
 * entries a selection takes (--job, --reason-contains, --from, --to, --priority), one audited
 * action per batch. Replay runs here, batch after batch (each within the jobs' replay limits),
 * until nothing replayable is left; mark_failed and resolve need --reason.
 */
export async function dlqBulk(ctx: CliContext, input: CommandInput): Promise<number> {
  const action = (input.args[0] ?? "").replace(/-/g, "_") as DeadLetterBulkAction;
  if (!(DEAD_LETTER_BULK_ACTIONS as readonly string[]).includes(action)) throw new UsageError(`the action must be one of ${DEAD_LETTER_BULK_ACTIONS.join(", ")}; got "${input.args[0] ?? ""}"`, "invalid_argument");
  const jobName = stringOption(input, "job");
  if (jobName !== undefined && !JOB_NAME_RE.test(jobName)) throw new UsageError(`--job must be a job name such as cleanup-old-logs; got "${jobName}"`, "invalid_option");
  const priority = stringOption(input, "priority");
  if (priority !== undefined && !(PRIORITIES as readonly string[]).includes(priority)) throw new UsageError(`--priority must be one of ${PRIORITIES.join(", ")}; got "${priority}"`, "invalid_option");
  const selection: DeadLetterSelection = {
    jobName: jobName ?? null,
    reason: stringOption(input, "reason-contains")?.trim() || null,
    from: instantOption(input, "from"),
    to: instantOption(input, "to"),
    priority: (priority as Priority | undefined) ?? null,
  };
  if (selection.from && selection.to && selection.from >= selection.to) throw new UsageError("--to must be after --from", "invalid_option");

  if (action === "replay") {
    const deps = await ctx.opsWithEngine();
    const since = ctx.now();
    let replayed = 0;
    let notReplayable = 0;
    for (;;) {
      const batch = await prepareBulkReplay(deps, ctx.actor, { selection, since });
      notReplayable = batch.notReplayable;
      if (batch.replays.length === 0) break;
      if (!ctx.out.json) ctx.out.note(`replaying ${batch.replays.length} entr${batch.replays.length === 1 ? "y" : "ies"} (${batch.remaining} more after these)...`);
      await batch.run(() => CLI_BUDGET_MS);
      replayed += batch.replays.length;
    }
    ctx.out.result({ ok: true, action, replayed, notReplayable }, () =>
      `replayed ${replayed} entr${replayed === 1 ? "y" : "ies"}${notReplayable ? `; ${notReplayable} cannot be replayed (out of replays, or their job is gone): settle them with \`crondeck dlq bulk mark_failed --reason "..."\`` : ""}. Each replay's outcome is in \`crondeck dlq list\`.`,
    );
    return EXIT_OK;
  }
  const reason = stringOption(input, "reason")?.trim();
  if (!reason) throw new UsageError(`--reason is required: crondeck dlq bulk ${action} --reason "why"`, "missing_option");
  const outcome = action === "resolve" ? "resolved" : "permanently_failed";
  const deps = await ctx.ops();
  let count = 0;
  const jobs: Record<string, number> = {};
  for (;;) {
    const result = await settleSelection(deps, ctx.actor, { selection, outcome, reason });
    count += result.count;
    for (const [job, n] of Object.entries(result.jobs)) jobs[job] = (jobs[job] ?? 0) + n;
    if (result.remaining === 0 || result.count === 0) break;
  }
  ctx.out.result({ ok: true, action, count, jobs }, () => `${outcome === "resolved" ? "resolved" : "marked permanently failed"} ${count} entr${count === 1 ? "y" : "ies"}${count ? `: ${Object.entries(jobs).map(([j, n]) => `${j} ${n}`).join(", ")}` : ""}.`);
  return EXIT_OK;
}
