/**
 * Every name Crondeck stores, filters on or shows: run statuses, triggers, skip reasons (with
 * the sentence that explains each), job states, dead-letter recovery statuses and priorities,
 * audit actions. Each list is defined here once; the database columns, the admin API's
 * filters, the CLI and the dashboard all take their names (and the words for them) from here.
 */

/** Final and in-between states of a run row. */
export const RUN_STATUSES = [
  "started",
  "completed",
  "failed",
  "timed_out",
  "skipped",
  "abandoned",
  "missed",
  "queued",
  "retry_scheduled",
  /** overlap "replace": a newer trigger took over; not a failure. */
  "replaced",
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Statuses a run ends in when it ran and did not succeed (abandoned: its process died). */
export const FAILURE_STATUSES = ["failed", "timed_out", "abandoned"] as const satisfies readonly RunStatus[];
/**
 * The statuses that settle a slot: it ran and succeeded or failed, or it got no trigger (missed).
 * A job whose newest such row is not `completed` is failing until a later slot succeeds; skips,
 * runs in progress, retries still due and replaced runs settle nothing.
 */
export const OUTCOME_STATUSES = ["completed", ...FAILURE_STATUSES, "missed"] as const satisfies readonly RunStatus[];
/** What the engine records when a claimed run ends (retry_scheduled: its next attempt is deferred). */
export const FINISH_STATUSES = ["completed", "failed", "timed_out", "retry_scheduled", "replaced"] as const satisfies readonly RunStatus[];
export type FinishStatus = (typeof FINISH_STATUSES)[number];

/**
 * What started a run. backfill: one slot of an operator's backfill over a range (lib/backfill),
 * keyed by its slot like the schedule's own runs unless the backfill runs every slot (`--overlap all`).
 */
export const RUN_TRIGGERS = ["schedule", "manual", "retry", "replay", "catchup", "tick", "backfill"] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];
/** Triggers that run a slot of the schedule (keyed by the slot, so a slot runs once). */
export const SLOT_TRIGGERS = ["schedule", "tick", "catchup", "backfill"] as const satisfies readonly RunTrigger[];
/** Triggers an operator asked for: they run even when the job is disabled, paused or dead-lettered. */
export const OPERATOR_TRIGGERS = ["manual", "replay", "backfill"] as const satisfies readonly RunTrigger[];
/** True for a trigger that runs a slot of the schedule ({@link SLOT_TRIGGERS}). */
export const isSlotTrigger = (trigger: RunTrigger): boolean => (SLOT_TRIGGERS as readonly RunTrigger[]).includes(trigger);
/** True for a trigger an operator asked for ({@link OPERATOR_TRIGGERS}). */
export const isOperatorTrigger = (trigger: RunTrigger): boolean => (OPERATOR_TRIGGERS as readonly RunTrigger[]).includes(trigger);

/** Why a claimed run's result was not written: fenced out by a newer holder, or the store failed. */
export const NOT_RECORDED_REASONS = ["lease_lost", "store_unavailable"] as const;
export type NotRecordedReason = (typeof NOT_RECORDED_REASONS)[number];

/** What a trigger does while a run of the job holds the lease. */
export const OVERLAP_POLICIES = ["skip", "allow", "bufferOne", "replace"] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];
/** What the tick does with slots nobody triggered. */
export const MISSED_POLICIES = ["skip", "once", "all"] as const;
export type MissedPolicy = (typeof MISSED_POLICIES)[number];
/** Who fires a job: Vercel Cron per job, or the once-a-minute tick. */
export const DISPATCH_MODES = ["vercel", "tick"] as const;
export type DispatchMode = (typeof DISPATCH_MODES)[number];
/** How the delay before the next attempt grows. */
export const BACKOFF_STRATEGIES = ["immediate", "fixed", "linear", "exponential"] as const;
export type BackoffStrategy = (typeof BACKOFF_STRATEGIES)[number];

/** Why a trigger was recorded as skipped, and what that means for whoever reads it. */
export const SKIP_REASONS = {
  already_running: "a run of this job is still holding its lease",
  duplicate: "this slot already has its run",
  disabled: "the job is disabled",
  paused: "the job is paused",
  dead_lettered: "the job is paused after repeated dead-lettered runs; recover it to resume",
  /** An operator asked to skip this one slot (skip-next). */
  skip_requested: "an operator asked to skip this slot",
  /** Inside a snooze (a maintenance window): the job's slots until then are skipped. */
  snoozed: "the job is snoozed until a set time (a maintenance window)",
  /** A dependency's run for this slot failed for good (dependsOn). */
  upstream_failed: "a job this one depends on failed for this slot",
  /** The slot is before the job's startAt or after its endAt. */
  outside_window: "the slot is outside the job's startAt/endAt window",
} as const;
export type SkipReason = keyof typeof SKIP_REASONS;
/** Why a trigger was held back without a row (TriggerOutcome "waiting"), and what it means. */
export const WAIT_REASONS = {
  upstream_pending: "a job this one depends on has not finished its run for this slot yet",
} as const;
export type WaitReason = keyof typeof WAIT_REASONS;

/** Skips that mean another run had the job's lease or its slot ("lock misses"). */
export const LOCK_MISS_REASONS = ["already_running", "duplicate"] as const satisfies readonly SkipReason[];

/** A job's runtime state in one word: what a scheduled trigger would meet (first match wins). */
export const JOB_STATES = ["dead_lettered", "paused", "disabled", "enabled"] as const;
export type JobState = (typeof JOB_STATES)[number];

/** Decides a job's state from its config row (null/undefined: no row, the code's default applies). */
export function jobStateOf(
  enabledByDefault: boolean,
  config: { enabled?: boolean | null; paused?: boolean | null; deadLettered?: boolean | null } | null | undefined,
): JobState {
  if (config?.deadLettered) return "dead_lettered";
  if (config?.paused) return "paused";
  if (!(config?.enabled ?? enabledByDefault)) return "disabled";
  return "enabled";
}

/**
 * Why a job has no next run on its schedule, and what brings it back: the overview and the job
 * page show the sentence in place of a time (a snooze or a skipped slot only moves the time).
 */
export const NOT_SCHEDULED_REASONS = {
  dead_lettered: "paused after repeated dead-lettered runs: recover the job to resume its schedule",
  paused: "paused: resume the job to run its schedule",
  disabled: "disabled: enable the job to run its schedule",
  ended: "no further runs: its schedule has ended",
} as const;
export type NotScheduledReason = keyof typeof NOT_SCHEDULED_REASONS;

/**
 * Where a dead-letter entry stands: pending (waiting for an operator), replayed (a replay
 * succeeded), resolved (an operator settled it as handled: fixed by hand, or no longer
 * needed), permanently_failed (an operator gave it up).
 */
export const RECOVERY_STATUSES = ["pending", "replayed", "resolved", "permanently_failed"] as const;
export type RecoveryStatus = (typeof RECOVERY_STATUSES)[number];
/** How an operator settles pending entries by hand, and the audit action of doing it in bulk. */
export const SETTLE_OUTCOMES = ["permanently_failed", "resolved"] as const satisfies readonly RecoveryStatus[];
/** What a bulk action does to a selection of pending dead letters (the admin API's and the CLI's names). */
export const DEAD_LETTER_BULK_ACTIONS = ["replay", "mark_failed", "resolve"] as const;
export type DeadLetterBulkAction = (typeof DEAD_LETTER_BULK_ACTIONS)[number];
export type SettleOutcome = (typeof SETTLE_OUTCOMES)[number];

/** How urgent a dead-letter entry is. */
export const PRIORITIES = ["low", "normal", "high", "critical"] as const;
export type Priority = (typeof PRIORITIES)[number];

/** What an operator did. Stable names: the audit page filters on them. */
export const AUDIT_ACTIONS = [
  "session.login",
  "session.logout",
  "job.enable",
  "job.disable",
  "job.pause",
  "job.resume",
  "job.pause_all",
  "job.resume_all",
  "job.run",
  "job.recover",
  "job.skip_next",
  "job.unskip",
  "job.snooze",
  "job.unsnooze",
  "job.override",
  "job.override_revert",
  "job.backfill",
  "job.backfill_cancel",
  "dead_letter.retry",
  "dead_letter.mark_failed",
  "dead_letter.notes",
  /** One row for an action on a selection of entries, with its count (lib/db/commands/dead-letters.ts). */
  "dead_letter.bulk_replay",
  "dead_letter.bulk_mark_failed",
  "dead_letter.bulk_resolve",
  "lock.clear",
  "logs.cleanup",
  "api_token.create",
  "api_token.revoke",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * What a person may do, each role including the one before it: a viewer reads; an operator also
 * acts on jobs and runs (run now, pause, replay, clear leases, backfill); an admin also makes and
 * revokes API tokens for everyone. ADMIN_TOKEN (login or bearer) is admin.
 */
export const ADMIN_ROLES = ["viewer", "operator", "admin"] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];
/** True when `role` includes everything `needed` may do. */
export const roleAllows = (role: AdminRole, needed: AdminRole): boolean => ADMIN_ROLES.indexOf(role) >= ADMIN_ROLES.indexOf(needed);

/** How an operator reached Crondeck: the dashboard's session cookie, the admin token (bearer), or the CLI. */
export const ACTOR_CHANNELS = ["cookie", "bearer", "cli"] as const;
export type ActorChannel = (typeof ACTOR_CHANNELS)[number];

/** Who did something, as the audit log records it. */
export interface Actor {
  /** "admin" (ADMIN_TOKEN session), "api-token" (ADMIN_TOKEN bearer), a personal token's owner, or "cli:<os user>". */
  name: string;
  via: ActorChannel;
  /** The client's address for HTTP callers; null from the CLI. */
  ip: string | null;
  /** The dashboard session that acts (its id), or "token:<id>" for a personal API token; absent or null for ADMIN_TOKEN's bearer and the CLI. */
  session?: string | null;
}

/**
 * What Crondeck alerts about (stored on each cron_alerts row, at most 20 characters).
 * - failure, dead_letter, auto_paused, recovered: a run's outcome (lib/alerts/policy.ts);
 * - missed: slots that got no trigger; late: a slot with no run started within alerts.lateAfter;
 * - long_running: a run still going past alerts.maxRuntime; regression: a run that took more than
 *   alerts.regression.factor times the job's recent p95;
 * - the threshold monitors the tick evaluates ({@link MONITOR_KINDS});
 * - tick_late: the tick itself stopped; dead_letter_digest: the daily summary of a non-empty queue.
 */
export const ALERT_KINDS = [
  "failure",
  "dead_letter",
  "auto_paused",
  "missed",
  "recovered",
  "late",
  "long_running",
  "regression",
  "failure_rate",
  "timeout_rate",
  "lock_contention",
  "dead_letter_backlog",
  "stale_lease",
  "tick_late",
  "dead_letter_digest",
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/**
 * Conditions the tick evaluates each run, each open (alerted once, re-alerted per the window)
 * until it clears, which sends one `recovered` alert. Per job: failure_rate, timeout_rate,
 * lock_contention (alerts.* on the job, defaults from the environment); system-wide:
 * dead_letter_backlog, stale_lease, tick_late. A job's late slots are kept in cron_monitors
 * too (kind `late`, one incident per late streak), but lateness is a per-slot alert, not a threshold.
 */
export const MONITOR_KINDS = ["failure_rate", "timeout_rate", "lock_contention", "dead_letter_backlog", "stale_lease", "tick_late"] as const satisfies readonly AlertKind[];
export type MonitorKind = (typeof MONITOR_KINDS)[number];

/** Where alerts are delivered. */
export const ALERT_CHANNELS = ["slack", "email", "webhook"] as const;
export type AlertChannelName = (typeof ALERT_CHANNELS)[number];

/** Where a backfill over a range stands (cron_backfills.status). */
export const BACKFILL_STATUSES = ["running", "completed", "cancelled", "failed"] as const;
export type BackfillStatus = (typeof BACKFILL_STATUSES)[number];
/** Which slots of its range a backfill runs: those with no run yet (skip), or every one (all). */
export const BACKFILL_OVERLAP = ["skip", "all"] as const;
export type BackfillOverlap = (typeof BACKFILL_OVERLAP)[number];

/**
 * Where a dependent job's slot stands against its upstream jobs (dependsOn): ready (every
 * upstream completed its run for the slot, or the latest slot at or before it), waiting (one is
 * running, retrying or has not run yet), failed (one failed for good: the slot is skipped as
 * upstream_failed, and starts when a replay of the upstream succeeds).
 */
export const UPSTREAM_STATES = ["ready", "waiting", "failed"] as const;
export type UpstreamState = (typeof UPSTREAM_STATES)[number];

/** What a run-time override may change, by field (cron_job_config.overrides; lib/overrides). */
export const OVERRIDABLE_FIELDS = ["timeout", "retries", "backoff", "alerts", "missed", "schedule"] as const;
export type OverridableField = (typeof OVERRIDABLE_FIELDS)[number];
