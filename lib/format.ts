/**
 * How durations and rates read, for the dashboard and the CLI alike. Durations are in
 * milliseconds, rates are percentages 0-100 (what the queries return); `empty` stands for
 * a missing value ("—" on the dashboard, "-" in a terminal).
 */

export { formatDuration } from "./cron/duration";

/** A percentage (0-100): whole numbers as they are ("100%"), others to one decimal ("66.7%"). */
export function formatPercent(percent: number | null | undefined, empty = "—"): string {
  if (percent == null || !Number.isFinite(percent)) return empty;
  return `${Number.isInteger(percent) ? percent : percent.toFixed(1)}%`;
}
