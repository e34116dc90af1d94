import type { Clock } from "./clock";
import { redact, redactDeep, truncate } from "./redact";
import type { LogLine } from "./run-store";

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

  /** The lines to record, ending with how many were dropped, if any. */
  recorded(): LogLine[] {
    if (!this.dropped) return this.lines;
    return [...this.lines, { at: new Date(this.clock.now()).toISOString(), message: `${this.dropped} more log lines dropped` }];
  }
}
