import type { Clock } from "./clock";
import { redact, truncate } from "./redact";
import type { LogLine } from "./run-store";

const MAX_LOG_LINES = 200;
const MAX_LOG_CHARS = 2_000;
export const MAX_ERROR_CHARS = 2_000;
export const MAX_STACK_CHARS = 8_000;
const MAX_OUTPUT_BYTES = 16_384;

/** A handler's result as stored: JSON, cut to 16 KiB (with a preview) when it is larger. */
export function capOutput(value: unknown): unknown {
  if (value === undefined) return null;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return { unserializable: truncate(String(value), 500) };
  }
  if (text === undefined) return null;
  if (Buffer.byteLength(text) <= MAX_OUTPUT_BYTES) return JSON.parse(text);
  return { truncated: true, bytes: Buffer.byteLength(text), preview: text.slice(0, 2_000) };
}

/**
 * One run's log: the lines its handler and the engine add (a resumed retry's earlier lines
 * first), at most 200, each cut and scrubbed of secrets. `clean` scrubs its errors the same way.
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

  /** Adds a line (a handler's `ctx.log`). */
  readonly add = (message: string, data?: Record<string, unknown>): void => {
    if (this.lines.length >= MAX_LOG_LINES) return void this.dropped++;
    const line: LogLine = { at: new Date(this.clock.now()).toISOString(), message: this.clean(String(message), MAX_LOG_CHARS) };
    if (data !== undefined) line.data = capOutput(data) as Record<string, unknown>;
    this.lines.push(line);
  };

  /** The lines to record, ending with how many were dropped, if any. */
  recorded(): LogLine[] {
    if (!this.dropped) return this.lines;
    return [...this.lines, { at: new Date(this.clock.now()).toISOString(), message: `${this.dropped} more log lines dropped` }];
  }
}
