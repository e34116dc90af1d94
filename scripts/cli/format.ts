import { SKIP_REASONS, type SkipReason } from "../../lib/cron/vocabulary";
import { formatPercent } from "../../lib/format";

/** Human output: aligned tables and short times. JSON output never goes through here. */

export interface Column {
  header: string;
  /** Right-align (numbers). */
  right?: boolean;
}

/** Aligned columns, two spaces apart, header first; the last column is never padded. */
export function table(columns: Array<string | Column>, rows: Array<Array<string | number | null | undefined>>): string {
  const cols = columns.map((c) => (typeof c === "string" ? { header: c } : c));
  const cells = rows.map((row) => cols.map((_, i) => (row[i] === null || row[i] === undefined || row[i] === "" ? "-" : String(row[i]))));
  const widths = cols.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i].length)));
  const render = (values: string[]) =>
    values
      .map((v, i) => {
        if (i === values.length - 1 && !cols[i].right) return v;
        return cols[i].right ? v.padStart(widths[i]) : v.padEnd(widths[i]);
      })
      .join("  ")
      .trimEnd();
  return [render(cols.map((c) => c.header)), ...cells.map(render)].join("\n");
}

/** "2026-05-01 12:00:05Z", or "-". */
export function formatTime(value: Date | string | null | undefined): string {
  if (value === null || value === undefined) return "-";
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return "-";
  return `${date.toISOString().slice(0, 19).replace("T", " ")}Z`;
}

/** 45 -> "45s", 185 -> "3m 05s", 7260 -> "2h 01m", 277200 -> "3d 05h". Negative values keep their sign. */
export function formatSeconds(totalSeconds: number): string {
  if (!Number.isFinite(totalSeconds)) return "-";
  const sign = totalSeconds < 0 ? "-" : "";
  const s = Math.round(Math.abs(totalSeconds));
  const pad = (n: number) => String(n).padStart(2, "0");
  if (s < 60) return `${sign}${s}s`;
  if (s < 3_600) return `${sign}${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86_400) return `${sign}${Math.floor(s / 3_600)}h ${pad(Math.floor((s % 3_600) / 60))}m`;
  return `${sign}${Math.floor(s / 86_400)}d ${pad(Math.floor((s % 86_400) / 3_600))}h`;
}

/** "3m 05s ago" / "in 3m 05s" relative to now. */
export function formatRelative(value: Date | string | null | undefined, now: Date): string {
  if (value === null || value === undefined) return "-";
  const seconds = (new Date(value).getTime() - now.getTime()) / 1000;
  return seconds >= 0 ? `in ${formatSeconds(seconds)}` : `${formatSeconds(-seconds)} ago`;
}

/** A ratio (0-1) as a percentage, through the one percent formatter (lib/format.ts). */
export function formatRatio(ratio: number | null): string {
  return formatPercent(ratio === null ? null : ratio * 100, "-");
}

/** One line, at most `max` characters. */
export function clip(text: string | null | undefined, max = 60): string {
  if (!text) return "-";
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Why a trigger was skipped (the vocabulary's sentence), and what to run about it from a terminal. */
export function explainSkip(reason: string, jobName: string): string {
  const nextStep: Partial<Record<SkipReason, string>> = {
    already_running: " (a long run, or a stale lease: `crondeck locks list`)",
    paused: ` (\`crondeck jobs resume ${jobName}\`)`,
    dead_lettered: ` (\`crondeck dlq recover ${jobName}\`)`,
    snoozed: ` (\`crondeck jobs unsnooze ${jobName}\` ends it)`,
    skip_requested: ` (\`crondeck jobs unskip ${jobName}\` takes it back)`,
    upstream_failed: ` (\`crondeck jobs deps ${jobName}\` shows which)`,
  };
  if (!(reason in SKIP_REASONS)) return reason;
  return `${SKIP_REASONS[reason as SkipReason]}${nextStep[reason as SkipReason] ?? ""}`;
}
