import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgSequence,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
} from "drizzle-orm/pg-core";

/** Every claimed run takes the next value: a finish or heartbeat with an older token changes nothing. */
export const fencingTokenSeq = pgSequence("cron_fencing_token_seq", { startWith: 1 });

/** One row per trigger: runs, skips and missed slots alike, so nothing is silent. */
export const cronJobLogs = pgTable(
  "cron_job_logs",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    jobName: varchar("job_name", { length: 100 }).notNull(),
    /** started | completed | failed | timed_out | skipped | abandoned | missed | queued | retry_scheduled | replaced */
    status: varchar("status", { length: 20 }).notNull(),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp("completed_at", { withTimezone: true }),
    durationMs: integer("duration_ms"),
    errorMessage: text("error_message"),
    attempts: integer("attempts").default(1),
    createdAt: timestamp("created_at", { withTimezone: true }).defaultNow(),
    /** The slot: the schedule occurrence this run is for. Null for a manual run. */
    scheduledFor: timestamp("scheduled_for", { withTimezone: true }),
    /** schedule | manual | retry | replay | catchup | tick */
    trigger: varchar("trigger", { length: 20 }).notNull().default("schedule"),
    /**
     * What makes a delivery a duplicate: `slot:<iso>` for scheduled runs, `key:<Idempotency-Key>`
     * for manual ones, null for runs that may repeat (replays, plain manual runs).
     */
    dedupeKey: text("dedupe_key"),
    skipReason: varchar("skip_reason", { length: 30 }),
    fencingToken: bigint("fencing_token", { mode: "number" }),
    leaseExpiresAt: timestamp("lease_expires_at", { withTimezone: true }),
    holder: text("holder"),
    errorStack: text("error_stack"),
    output: jsonb("output"),
    logLines: jsonb("log_lines"),
    /** The run's input (validated by the job's input schema); null: the default input. */
    input: jsonb("input"),
    attemptDetails: jsonb("attempt_details"),
    codeVersion: text("code_version"),
    actor: text("actor"),
    cancelRequestedAt: timestamp("cancel_requested_at", { withTimezone: true }),
    nextRetryAt: timestamp("next_retry_at", { withTimezone: true }),
    replayOf: uuid("replay_of"),
    /** overlap "replace": the run that took over from this one (status replaced). */
    replacedBy: uuid("replaced_by"),
    /** A failed, timed-out or abandoned run: the job's consecutive failures, this run included. */
    failureStreak: integer("failure_streak"),
    /** The failure streak this run belongs to (the id of its first failed run); on a success, the streak it ended. */
    incidentId: uuid("incident_id"),
    /** This run's dead letter paused the job. */
    autoPaused: boolean("auto_paused").notNull().default(false),
    /** An abandoned run whose alerts the tick has not sent yet. */
    alertsPending: boolean("alerts_pending").notNull().default(false),
  },
  (t) => [
    index("idx_cron_logs_job_started").on(t.jobName, t.startedAt.desc()),
    // 0018: the run explorer's keyset (started_at, id) behind each filter.
    index("idx_cron_logs_status").on(t.status, t.startedAt.desc().nullsLast(), t.id.desc().nullsLast()),
    index("idx_cron_logs_started_at").on(t.startedAt.desc().nullsLast(), t.id.desc().nullsLast()),
    index("idx_cron_logs_job_status").on(t.jobName, t.status, t.startedAt.desc().nullsLast()),
    index("idx_cron_logs_trigger_started")
      .on(t.trigger, t.startedAt.desc().nullsLast(), t.id.desc().nullsLast())
      .where(sql`trigger NOT IN ('schedule', 'tick')`),
    uniqueIndex("uq_cron_logs_job_dedupe").on(t.jobName, t.dedupeKey),
    uniqueIndex("uq_cron_logs_job_slot")
      .on(t.jobName, t.scheduledFor)
      .where(sql`dedupe_key LIKE 'slot:%'`),
    index("idx_cron_logs_running").on(t.jobName).where(sql`status = 'started'`),
    index("idx_cron_logs_alerts_pending").on(t.completedAt).where(sql`alerts_pending`),
  ],
);

/**
 * The job's lease: at most one row per job, held by one run until it finishes or the
 * lease expires (the database clock decides). Jobs with `overlap: "allow"` take none.
 */
export const cronJobLeases = pgTable("cron_job_leases", {
  jobName: varchar("job_name", { length: 100 }).primaryKey(),
  runId: uuid("run_id").notNull(),
  fencingToken: bigint("fencing_token", { mode: "number" }).notNull(),
  holder: text("holder").notNull(),
  acquiredAt: timestamp("acquired_at", { withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
});

/** Runtime state per job; the code's definition is the default when a job has no row. */
export const cronJobConfig = pgTable("cron_job_config", {
  jobName: varchar("job_name", { length: 100 }).primaryKey(),
  enabled: boolean("enabled").default(true),
  lastModifiedAt: timestamp("last_modified_at", { withTimezone: true }).defaultNow(),
  lastModifiedBy: text("last_modified_by"),
  notes: text("notes"),
  paused: boolean("paused").notNull().default(false),
  pausedReason: text("paused_reason"),
  pausedAt: timestamp("paused_at", { withTimezone: true }),
  consecutiveFailures: integer("consecutive_failures").notNull().default(0),
  consecutiveDeadLetters: integer("consecutive_dead_letters").notNull().default(0),
  deadLettered: boolean("dead_lettered").notNull().default(false),
  deadLetterReason: text("dead_letter_reason"),
  deadLetteredSince: timestamp("dead_lettered_since", { withTimezone: true }),
  lastNotificationAt: timestamp("last_notification_at", { withTimezone: true }),
  lastNotificationKind: varchar("last_notification_kind", { length: 30 }),
  /** Missed-slot detection looks at slots after this instant (set when the tick first sees the job). */
  missedCheckedUntil: timestamp("missed_checked_until", { withTimezone: true }),
  /** Late alerts look at slots after this instant, each once (lib/monitors/late.ts). */
  lateCheckedUntil: timestamp("late_checked_until", { withTimezone: true }),
  /** The open failure streak: the id of its first failed run; null while the job is healthy. */
  incidentId: uuid("incident_id"),
  /** deadLetter.pauseAfter as the job's last finish passed it: what an abandoned run uses (0: never pause). */
  pauseAfter: integer("pause_after"),
  /** Slots an operator asked to skip (skip-next); the claim skips them as skip_requested. */
  skipSlots: timestamp("skip_slots", { withTimezone: true }).array().notNull().default(sql`'{}'`),
  skipRequestedBy: text("skip_requested_by"),
  /** A snooze (maintenance window): slots before this instant are skipped as snoozed. */
  snoozedUntil: timestamp("snoozed_until", { withTimezone: true }),
  snoozeReason: text("snooze_reason"),
  snoozedBy: text("snoozed_by"),
  /** Run-time overrides of the code's definition (lib/overrides), who set them and when. */
  overrides: jsonb("overrides"),
  overridesAt: timestamp("overrides_at", { withTimezone: true }),
  overridesBy: text("overrides_by"),
});

export const cronDeadLetters = pgTable(
  "cron_dead_letters",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    runId: uuid("run_id").notNull(),
    jobName: varchar("job_name", { length: 100 }).notNull(),
    scheduledFor: timestamp("scheduled_for", { withTimezone: true }),
    failureReason: text("failure_reason").notNull(),
    errorStack: text("error_stack"),
    attempts: integer("attempts").notNull().default(1),
    /** pending | replayed | resolved | permanently_failed */
    recoveryStatus: varchar("recovery_status", { length: 20 }).notNull().default("pending"),
    notes: text("notes"),
    assignedTo: text("assigned_to"),
    /** low | normal | high | critical */
    priority: varchar("priority", { length: 10 }).notNull().default("normal"),
    replayCount: integer("replay_count").notNull().default(0),
    lastReplayedAt: timestamp("last_replayed_at", { withTimezone: true }),
    lastReplayRunId: uuid("last_replay_run_id"),
    resolvedAt: timestamp("resolved_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("idx_cron_dlq_status_created").on(t.recoveryStatus, t.createdAt.desc()),
    index("idx_cron_dlq_job").on(t.jobName, t.createdAt.desc()),
    uniqueIndex("uq_cron_dlq_run").on(t.runId),
  ],
);

/** Every alert Crondeck tried to send, per channel, delivered or not. Also the rate limiter's memory. */
export const cronAlerts = pgTable(
  "cron_alerts",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    jobName: varchar("job_name", { length: 100 }).notNull(),
    /** failure | dead_letter | auto_paused | missed | recovered */
    kind: varchar("kind", { length: 20 }).notNull(),
    runId: uuid("run_id"),
    /** slack | email | webhook | sentry */
    channel: varchar("channel", { length: 20 }).notNull(),
    /** sent | failed | suppressed */
    status: varchar("status", { length: 20 }).notNull(),
    error: text("error"),
    message: text("message"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    /** The failure streak the alert is about: the re-alert window applies within one incident. */
    incidentId: uuid("incident_id"),
  },
  (t) => [
    index("idx_cron_alerts_job_kind_created").on(t.jobName, t.kind, t.createdAt.desc()),
    index("idx_cron_alerts_created").on(t.createdAt.desc()),
    /** The long-run check: has this run had its long_running alert (drizzle/0010_monitors.sql)? */
    index("idx_cron_alerts_run_kind").on(t.runId, t.kind).where(sql`run_id IS NOT NULL`),
  ],
);

export const cronAuditLog = pgTable(
  "cron_audit_log",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    actor: text("actor").notNull(),
    action: varchar("action", { length: 50 }).notNull(),
    target: text("target"),
    detail: jsonb("detail"),
    ipAddress: text("ip_address"),
    /** The dashboard session that acted (cron_admin_sessions.id); null for the bearer token and the CLI. */
    sessionId: text("session_id"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("idx_cron_audit_created").on(t.createdAt.desc())],
);

/**
 * One row per dashboard login: the cookie only names its id (signed), the row decides whether
 * it is still good (lib/db/sessions.ts). Revoked on logout and when ADMIN_TOKEN changes (the
 * fingerprint of the token it was made under no longer matches).
 */
export const cronAdminSessions = pgTable(
  "cron_admin_sessions",
  {
    id: text("id").primaryKey(),
    actor: text("actor").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
    /** The last request the user made (background polls do not count); idle expiry runs from here. */
    lastSeenAt: timestamp("last_seen_at", { withTimezone: true }).notNull(),
    /** The absolute expiry, fixed at login. */
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    revokedReason: varchar("revoked_reason", { length: 30 }),
    /** HKDF of the ADMIN_TOKEN the session was made under (never the token itself). */
    tokenFingerprint: text("token_fingerprint").notNull(),
    ipAddress: text("ip_address"),
    userAgent: text("user_agent"),
  },
  (t) => [index("idx_cron_admin_sessions_expires").on(t.expiresAt)],
);

/**
 * Login attempts per fixed window, per client address and in total (key "*"), shared by every
 * instance of the app: one upsert counts an attempt and answers whether it may go on.
 */
export const cronLoginAttempts = pgTable(
  "cron_login_attempts",
  {
    key: text("key").notNull(),
    windowStart: timestamp("window_start", { withTimezone: true }).notNull(),
    attempts: integer("attempts").notNull(),
  },
  (t) => [primaryKey({ columns: [t.key, t.windowStart] })],
);

/**
 * Open monitors (lib/cron/vocabulary.ts MONITOR_KINDS, and per-run conditions such as a long
 * run): one row per job and kind while its condition holds, alerted under `incidentId` (the
 * re-alert window applies within it); deleted when it clears (lib/db/monitors.ts).
 */
export const cronMonitors = pgTable(
  "cron_monitors",
  {
    /** The job, or "*" for a system-wide monitor (dead-letter backlog, stale leases, the tick). */
    jobName: varchar("job_name", { length: 100 }).notNull(),
    kind: varchar("kind", { length: 20 }).notNull(),
    incidentId: uuid("incident_id").notNull().default(sql`gen_random_uuid()`),
    openedAt: timestamp("opened_at", { withTimezone: true }).notNull(),
    checkedAt: timestamp("checked_at", { withTimezone: true }).notNull(),
    /** The measured value when last checked (a percent, a count, seconds). */
    value: doublePrecision("value"),
    detail: jsonb("detail"),
    /** The last alert sent for this incident: the re-alert window counts from it. */
    alertedAt: timestamp("alerted_at", { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.jobName, t.kind] })],
);
