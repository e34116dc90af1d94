/**
 * Durations in job definitions carry their unit: `"10m"`, `"5s"`, `"250ms"`, `"1h"`,
 * or a plain number of seconds where the seed interface used seconds (`timeout: 300`).
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

export type Duration = string | number;

/** Parses `"10m"` style strings (and numbers of seconds) into milliseconds. Throws with a fix on bad input. */
export function parseDurationMs(value: Duration, numberUnit: "s" | "ms" = "s"): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value <= 0) throw new Error(`must be a positive number of ${numberUnit === "s" ? "seconds" : "milliseconds"}, got ${value}`);
    return Math.round(value * UNIT_MS[numberUnit]);
  }
  const match = DURATION_RE.exec(value.trim());
  if (!match) throw new Error(`"${value}" is not a duration: write a number with a unit, such as "250ms", "30s", "10m", "1h" or "1d"`);
  const ms = Math.round(Number(match[1]) * UNIT_MS[match[2]]);
  if (ms <= 0) throw new Error(`must be longer than 0, got "${value}"`);
  return ms;
}

/** Short human form: 1500 -> "1.5s", 600000 -> "10m". */
export function formatDurationMs(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1_000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(1)}m`;
  return `${+(ms / 3_600_000).toFixed(1)}h`;
}

/*
 * Durations in words, for people (the dashboard, the CLI, run errors, alerts); lib/format.ts
 * re-exports it. formatDurationMs above is the definitions' own notation.
 */
const MINUTE_S = 60;
const HOUR_S = 3_600;
const DAY_S = 86_400;

/** Two units, the smaller left out when it is 0: "4 min 5 s", "2 h", "3 d 4 h". */
const twoUnits = (big: number, bigUnit: string, small: number, smallUnit: string) => `${big} ${bigUnit}${small ? ` ${small} ${smallUnit}` : ""}`;

/**
 * A duration in words, to the precision that matters at its size: "950 ms", "1.2 s", "5 s", "12 s",
 * "4 min 5 s", "2 h 3 min", "3 d 4 h". Negative durations keep their sign.
 */
export function formatDuration(ms: number | null | undefined, empty = "—"): string {
  if (ms == null || !Number.isFinite(ms)) return empty;
  if (ms < 0) return `-${formatDuration(-ms, empty)}`;
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${Number((ms / 1_000).toFixed(1))} s`;
  const seconds = Math.round(ms / 1_000);
  if (seconds < MINUTE_S) return `${seconds} s`;
  if (seconds < HOUR_S) return twoUnits(Math.floor(seconds / MINUTE_S), "min", seconds % MINUTE_S, "s");
  const minutes = Math.round(seconds / MINUTE_S);
  if (minutes < DAY_S / MINUTE_S) return twoUnits(Math.floor(minutes / 60), "h", minutes % 60, "min");
  const hours = Math.round(minutes / 60);
  return twoUnits(Math.floor(hours / 24), "d", hours % 24, "h");
}
