import type { Clock } from "./clock";
import { redact, redactDeep, truncate } from "./redact";
import type { AttemptRecord, LogLine, RunProgress } from "./run-store";

const MAX_LOG_LINES = 200;
const MAX_LOG_CHARS = 2_000;
export const MAX_ERROR_CHARS = 2_000;
export const MAX_STACK_CHARS = 8_000;
const MAX_OUTPUT_BYTES = 16_384;

/**
 * A handler's result (or a log line's data) as stored: JSON with every string, keys included,
 * scrubbed of `secrets` first, then cut to 16 KiB (with a preview) when it is larger. Redaction
 * comes before the cut, so a secret is never cut in two with its first half kept.
 */
export function capOutput(value: unknown, secrets: readonly string[] = []): unknown {
  if (value === undefined) return null;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return { unserializable: truncate(redact(String(value), secrets), 500) };
  }
  if (text === undefined) return null;
  const clean: unknown = redactDeep(JSON.parse(text), secrets);
  text = JSON.stringify(clean);
  if (Buffer.byteLength(text) <= MAX_OUTPUT_BYTES) return clean;
  return { truncated: true, bytes: Buffer.byteLength(text), preview: text.slice(0, 2_000) };
}

/**
 * One run's log: the lines its handler and the engine add (a resumed retry's earlier lines
 * first), at most 200, each scrubbed of secrets (message, data and its keys) and cut. `clean`
 * scrubs its errors the same way, `json` its output.
 */
export class RunLog {
  private readonly lines: LogLine[];
  private dropped = 0;

  constructor(
    prior: readonly LogLine[],
    private readonly secrets: readonly string[],
    private readonly clock: Clock,
  ) {
    this.lines = [...prior];
  }

  /** Known secret values, connection passwords and bearer tokens removed; cut to `max`. */
  readonly clean = (text: string, max: number): string => truncate(redact(text, this.secrets), max);

  /** A JSON-able value as stored (a handler's output, a line's data): every string scrubbed, capped. */
  readonly json = (value: unknown): unknown => capOutput(value, this.secrets);

  /** Adds a line (a handler's `ctx.log`). */
  readonly add = (message: string, data?: Record<string, unknown>): void => {
    if (this.lines.length >= MAX_LOG_LINES) return void this.dropped++;
    const line: LogLine = { at: new Date(this.clock.now()).toISOString(), message: this.clean(String(message), MAX_LOG_CHARS) };
    if (data !== undefined) line.data = this.json(data) as Record<string, unknown>;
    this.lines.push(line);
  };

  /** How many lines the log holds (a resumed retry's earlier ones included; dropped ones not). */
  get size(): number {
    return this.lines.length;
  }

  /** The lines from index `from` on, as they are now. */
  linesFrom(from: number): LogLine[] {
    return this.lines.slice(from);
  }

  /** The lines to record, ending with how many were dropped, if any. */
  recorded(): LogLine[] {
    if (!this.dropped) return this.lines;
    return [...this.lines, { at: new Date(this.clock.now()).toISOString(), message: `${this.dropped} more log lines dropped` }];
  }
}

/** What one progress write carries, and what it covers once the store confirmed it. */
export interface ProgressSnapshot {
  progress: RunProgress;
  lines: number;
  attempts: number;
  detailsVersion: number;
}

/**
 * What of a running run's progress its row does not show yet: the log's lines past those
 * written, the attempts started, the finished attempts' records. The lease keeper takes a
 * snapshot for each heartbeat and marks it written once the store confirmed the heartbeat; a
 * heartbeat that failed leaves it pending, and the next one sends the same tail again (the
 * store keeps each line once). Bounded by the log itself (200 lines, each line cut): nothing
 * here grows past what the finish writes. Closed before the finish, which writes it all.
 */
export class LiveProgress {
  private linesOnRow: number;
  private attempts: number;
  private attemptsOnRow: number;
  private details: readonly AttemptRecord[];
  private detailsVersion = 0;
  private detailsOnRow = 0;
  private closed = false;

  constructor(
    private readonly log: RunLog,
    prior: { attempts: readonly AttemptRecord[] },
  ) {
    // A resumed retry's row already has its earlier lines and attempts.
    this.linesOnRow = log.size;
    this.attempts = this.attemptsOnRow = prior.attempts.length;
    this.details = prior.attempts;
  }

  /** Attempt `attempt` started. */
  attemptStarted(attempt: number): void {
    this.attempts = Math.max(this.attempts, attempt);
  }

  /** The finished attempts' records changed (one more ended). */
  attemptsRecorded(details: readonly AttemptRecord[]): void {
    this.details = details;
    this.detailsVersion++;
  }

  /**
   * Lines or a finished attempt the row does not show yet: worth a heartbeat of their own.
   * A started attempt alone is not (a started row is running its attempt; the count goes with
   * the next heartbeat or the next lines).
   */
  get pending(): boolean {
    return !this.closed && (this.log.size > this.linesOnRow || this.detailsVersion > this.detailsOnRow);
  }

  /** The progress to send with the next heartbeat; null when there is none. */
  take(): ProgressSnapshot | null {
    if (!this.pending && (this.closed || this.attempts <= this.attemptsOnRow)) return null;
    const lines = this.log.size;
    return {
      progress: {
        attempts: this.attempts,
        attemptDetails: this.detailsVersion > this.detailsOnRow ? [...this.details] : null,
        logFrom: this.linesOnRow,
        logLines: this.log.linesFrom(this.linesOnRow),
      },
      lines,
      attempts: this.attempts,
      detailsVersion: this.detailsVersion,
    };
  }

  /** The store confirmed the heartbeat that carried `snapshot`. */
  written(snapshot: ProgressSnapshot): void {
    this.linesOnRow = Math.max(this.linesOnRow, snapshot.lines);
    this.attemptsOnRow = Math.max(this.attemptsOnRow, snapshot.attempts);
    this.detailsOnRow = Math.max(this.detailsOnRow, snapshot.detailsVersion);
  }

  /** The finish writes everything from here on: no more progress goes out. */
  close(): void {
    this.closed = true;
  }
}
