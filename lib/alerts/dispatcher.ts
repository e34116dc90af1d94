import { coerceError } from "../cron/errors";
import { isUuid } from "../cron/ids";
import { redactDeep } from "../cron/redact";
import { claimAlert, recordAlerts, settleAlerts, type AlertClaimRow, type AlertDelivery } from "../db/alerts";
import type { Db } from "../db/client";
import { formatAlertText } from "./format";
import { DEFAULT_ALERT_TIMEOUT_MS, withTimeout } from "./http-post";
import { reAlertWindowMs } from "./policy";
import { alertSecrets, redactAlertError } from "./redact";
import type { AlertChannel, AlertEvent, AlertOutcome, AlertRouting } from "./types";

export interface AlertDispatcherOptions {
  db: Db;
  channels: AlertChannel[];
  log?: (msg: string) => void;
  /** The clock for the rate-limit window and the rows' created_at. Default the app's clock. */
  now?: () => Date;
  /** More values to scrub from recorded errors, on top of each channel's own `secrets`. */
  secrets?: readonly string[];
  /** How much longer than a channel's own timeout the dispatcher waits before recording it as failed. Default 500. */
  graceMs?: number;
}

/** A uuid, or null: the rows' run_id and incident_id columns take nothing else. */
const uuidOrNull = (value: string | null | undefined): string | null => (value && isUuid(value) ? value : null);

/**
 * Sends an alert to every channel that applies, at most once per job, kind and incident per
 * `routing.reAlertAfterMs` (an auto-pause always: see reAlertWindowMs), and records each
 * channel's outcome in cron_alerts.
 *
 * The incident is the failure streak the run belongs to (event.incidentId, or the run row's
 * incident_id, written by the failure path in drizzle/0006_failure_path.sql): after a recovery a
 * new streak is a new incident, and its alerts are not held back by the last one's. Alerts
 * without a run (a missed slot) have no incident and share one window per job and kind.
 *
 * The rate limit is decided in the database (claimAlert in lib/db/alerts.ts): one row per
 * channel, `sending` or `suppressed`, so ten concurrent notifies deliver once. The claim's
 * transaction ends before any network call; delivery outcomes then update those rows.
 *
 * Only a delivered alert starts a window: when every channel failed, the next notify tries again.
 */
export class AlertDispatcher {
  private readonly db: Db;
  private readonly channels: AlertChannel[];
  private readonly log: (msg: string) => void;
  private readonly now: () => Date;
  private readonly secrets: readonly string[];
  /** `secrets` with a job's own Slack webhook added, one list per webhook (see secretsFor). */
  private readonly withWebhook = new Map<string, readonly string[]>();
  private readonly graceMs: number;

  constructor(opts: AlertDispatcherOptions) {
    this.db = opts.db;
    this.channels = opts.channels;
    this.log = opts.log ?? (() => {});
    this.now = opts.now ?? (() => new Date());
    this.secrets = [...(opts.secrets ?? []), ...opts.channels.flatMap((c) => c.secrets ?? [])];
    this.graceMs = opts.graceMs ?? 500;
  }

  async notify(raw: AlertEvent, routing: AlertRouting): Promise<AlertOutcome> {
    const secrets = this.secretsFor(routing.slackWebhook);
    // Every text of the event (error, detail keys and values) is scrubbed before it is stored
    // in cron_alerts or reaches any channel, whoever built the event.
    const event = redactDeep(raw, alertSecrets(secrets));
    const channels = this.channels.filter((channel) => {
      try {
        return channel.appliesTo(routing);
      } catch {
        return false;
      }
    });
    if (channels.length === 0) return { delivered: [], failed: [], suppressed: false };

    const message = formatAlertText(event);
    let claimed: AlertClaimRow[] | null;
    try {
      claimed = await this.claim(event, channels, message, reAlertWindowMs(event.kind, routing.reAlertAfterMs));
    } catch (error) {
      // Alerting matters most when things are broken: with the database unreachable, send
      // without the rate limit rather than stay silent.
      this.log(`alerts: could not check the rate limit for ${event.jobName}/${event.kind}, sending anyway: ${redactAlertError(coerceError(error).message, secrets)}`);
      claimed = null;
    }
    if (claimed && claimed.some((row) => row.status === "suppressed")) {
      this.log(`alerts: ${event.jobName}/${event.kind} suppressed (already sent within ${routing.reAlertAfterMs} ms)`);
      return { delivered: [], failed: [], suppressed: true };
    }

    const outcomes = await Promise.all(channels.map((channel) => this.deliver(channel, event, routing, secrets)));
    const delivered = outcomes.filter((o) => o.error === null).map((o) => o.channel);
    const failed = outcomes.filter((o) => o.error !== null).map((o) => o.channel);
    for (const o of outcomes) if (o.error !== null) this.log(`alerts: ${event.jobName}/${event.kind} via ${o.channel} failed: ${o.error}`);

    try {
      if (claimed) await settleAlerts(this.db, claimed, outcomes);
      else await this.record(event, message, outcomes);
    } catch (error) {
      this.log(`alerts: could not record the outcome for ${event.jobName}/${event.kind}: ${redactAlertError(coerceError(error).message, secrets)}`);
    }
    return { delivered, failed, suppressed: false };
  }

  /**
   * The secrets of an alert for a job with its own Slack webhook: the same list for every alert
   * of that job, so its secret forms and their pattern are built once, not per notify. The
   * runtime's secrets already hold every job's webhook (lib/app/runtime.ts); a dispatcher built
   * without them adds it here.
   */
  private secretsFor(slackWebhook: string | null): readonly string[] {
    if (!slackWebhook || this.secrets.includes(slackWebhook)) return this.secrets;
    let list = this.withWebhook.get(slackWebhook);
    if (!list) this.withWebhook.set(slackWebhook, (list = [...this.secrets, slackWebhook]));
    return list;
  }

  private async deliver(channel: AlertChannel, event: AlertEvent, routing: AlertRouting, secrets: readonly string[]): Promise<AlertDelivery> {
    const limitMs = (channel.timeoutMs ?? DEFAULT_ALERT_TIMEOUT_MS) + this.graceMs;
    try {
      // A channel that ignores its own timeout still cannot hold up the others or the caller.
      await withTimeout(Promise.resolve().then(() => channel.send(event, routing)), limitMs, `${channel.name}: gave up after ${limitMs} ms`);
      return { channel: channel.name, error: null };
    } catch (error) {
      return { channel: channel.name, error: redactAlertError(coerceError(error).message, secrets) };
    }
  }

  /** The rate-limit decision: one row per channel, all `sending` or all `suppressed`. */
  private claim(event: AlertEvent, channels: AlertChannel[], message: string, windowMs: number): Promise<AlertClaimRow[]> {
    return claimAlert(this.db, {
      jobName: event.jobName,
      kind: event.kind,
      runId: uuidOrNull(event.runId),
      incidentId: uuidOrNull(event.incidentId),
      channels: channels.map((c) => c.name),
      message,
      at: this.now(),
      windowMs,
    });
  }

  /** Records outcomes when the claim could not be written (database down during the claim). */
  private record(event: AlertEvent, message: string, outcomes: AlertDelivery[]): Promise<void> {
    return recordAlerts(this.db, { jobName: event.jobName, kind: event.kind, runId: uuidOrNull(event.runId), message, at: this.now() }, outcomes);
  }
}
