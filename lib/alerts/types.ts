import type { AlertChannelName, AlertKind } from "../cron/vocabulary";

/** What Crondeck tells people about (the names are in lib/cron/vocabulary.ts). */
export type { AlertKind };

export interface AlertEvent {
  kind: AlertKind;
  jobName: string;
  category: string;
  /** The run the alert is about (absent for a missed slot that has no run). */
  runId: string | null;
  /**
   * The failure streak (incident) the run belongs to; the re-alert window applies within one.
   * Optional: the dispatcher reads it from the run's row when it is not given.
   */
  incidentId?: string | null;
  /** The slot, when the run had one; for `missed`, the missed slot. */
  scheduledFor: Date | null;
  consecutiveFailures: number;
  /** The last error message (already redacted), if any. */
  error: string | null;
  /** When it happened. */
  at: Date;
  /** Link to the run (or the job) on the dashboard, when the app's URL is known. */
  url: string | null;
  /** Extra facts shown in the message: attempts, trigger, pause reason, missed slot count... */
  detail?: Record<string, string | number | boolean | null>;
}

/** Where a job's alerts go beyond the app-wide channels. */
export interface AlertRouting {
  slackWebhook: string | null;
  email: string[];
  /** At most one alert per job, kind and incident within this window (an auto-pause always alerts). */
  reAlertAfterMs: number;
}

/** One delivery channel. `send` rejects on failure; the dispatcher records and contains it. */
export interface AlertChannel {
  readonly name: AlertChannelName;
  send(event: AlertEvent, routing: AlertRouting): Promise<void>;
  /** False when this channel has nowhere to send for this job (no webhook URL, no recipients). */
  appliesTo(routing: AlertRouting): boolean;
  /** How long one `send` may take; the dispatcher gives up shortly after. Default 3000. */
  readonly timeoutMs?: number;
  /** Values scrubbed from recorded errors (webhook URLs, SMTP password, signing secret). */
  readonly secrets?: readonly string[];
}

/** What one `notify` did: channels that delivered, channels that failed, or all held back by the rate limit. */
export interface AlertOutcome {
  delivered: string[];
  failed: string[];
  suppressed: boolean;
}
