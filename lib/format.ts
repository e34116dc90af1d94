/**
 * How durations and rates read, for the dashboard and the CLI alike. Durations are in
 * milliseconds, rates are percentages 0-100 (what the queries return); `empty` stands for
 * a missing value ("—" on the dashboard, "-" in a terminal).
 */

const MINUTE_S = 60;
const HOUR_S = 3_600;
const DAY_S = 86_400;

/** Two units, the smaller left out when it is 0: "4 min 5 s", "2 h", "3 d 4 h". */
const twoUnits = (big: number, bigUnit: string, small: number, smallUnit: string) => `${big} ${bigUnit}${small ? ` ${small} ${smallUnit}` : ""}`;

/**
 * A duration in words, to the precision that matters at its size: "950 ms", "1.2 s", "12 s",
 * "4 min 5 s", "2 h 3 min", "3 d 4 h". Negative durations keep their sign.
 */
export function formatDuration(ms: number | null | undefined, empty = "—"): string {
  if (ms == null || !Number.isFinite(ms)) return empty;
  if (ms < 0) return `-${formatDuration(-ms, empty)}`;
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1_000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1_000);
  if (seconds < MINUTE_S) return `${seconds} s`;
  if (seconds < HOUR_S) return twoUnits(Math.floor(seconds / MINUTE_S), "min", seconds % MINUTE_S, "s");
  const minutes = Math.round(seconds / MINUTE_S);
  if (minutes < DAY_S / MINUTE_S) return twoUnits(Math.floor(minutes / 60), "h", minutes % 60, "min");
  const hours = Math.round(minutes / 60);
  return twoUnits(Math.floor(hours / 24), "d", hours % 24, "h");
}

/** A percentage (0-100): whole numbers as they are ("100%"), others to one decimal ("66.7%"). */
export function formatPercent(percent: number | null | undefined, empty = "—"): string {
  if (percent == null || !Number.isFinite(percent)) return empty;
  return `${Number.isInteger(percent) ? percent : percent.toFixed(1)}%`;
}
