import cronstrue from "cronstrue";

/** View helpers for the dashboard: plain functions, no React, no database. */

/** 350 ms, 1.2 s, 2 min 5 s, 1 h 3 min; a dash for nothing. */
export function formatDurationMs(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 3600) {
    const s = totalSeconds % 60;
    return `${Math.floor(totalSeconds / 60)} min${s ? ` ${s} s` : ""}`;
  }
  const totalMinutes = Math.round(totalSeconds / 60);
  const m = totalMinutes % 60;
  return `${Math.floor(totalMinutes / 60)} h${m ? ` ${m} min` : ""}`;
}

export const formatSeconds = (s: number | null | undefined) => formatDurationMs(s == null ? null : s * 1000);

/** "in 23 s" for a lease that is still live, "expired 5 min ago" once it is not. */
export function formatExpiresIn(seconds: number): string {
  return seconds > 0 ? `in ${formatSeconds(seconds)}` : seconds === 0 ? "now" : `expired ${formatSeconds(-seconds)} ago`;
}

export function formatPercent(rate: number | null | undefined): string {
  if (rate == null) return "—";
  return `${Number.isInteger(rate) ? rate : rate.toFixed(1)}%`;
}

export const formatCount = (n: number) => n.toLocaleString("en-US");

export type RateLevel = "good" | "warn" | "bad" | "none";

/** 95% or more healthy (green), 80-95% degraded (yellow), below 80% failing (red). */
export function successRateLevel(rate: number | null | undefined): { level: RateLevel; label: string } {
  if (rate == null) return { level: "none", label: "no runs" };
  if (rate >= 95) return { level: "good", label: "healthy" };
  if (rate >= 80) return { level: "warn", label: "degraded" };
  return { level: "bad", label: "failing" };
}

/** The cron expression in words ("Every 5 minutes"), or null when cronstrue cannot read it. */
export function scheduleInWords(cron: string): string | null {
  try {
    const text = cronstrue.toString(cron, { use24HourTimeFormat: true, throwExceptionOnParseError: true, verbose: false });
    return text || null;
  } catch {
    return null;
  }
}

export type Tone = "green" | "red" | "yellow" | "blue" | "zinc" | "orange" | "purple";

/** How a run status reads and looks. Colour always comes with its word. */
export function runStatusMeta(status: string, skipReason?: string | null): { label: string; tone: Tone } {
  switch (status) {
    case "completed":
      return { label: "completed", tone: "green" };
    case "failed":
      return { label: "failed", tone: "red" };
    case "timed_out":
      return { label: "timed out", tone: "red" };
    case "abandoned":
      return { label: "abandoned", tone: "orange" };
    case "started":
      return { label: "running", tone: "blue" };
    case "queued":
      return { label: "queued", tone: "blue" };
    case "retry_scheduled":
      return { label: "retry scheduled", tone: "yellow" };
    case "skipped":
      return { label: skipReason ? `skipped: ${skipReason.replaceAll("_", " ")}` : "skipped", tone: "zinc" };
    case "missed":
      return { label: "missed", tone: "purple" };
    default:
      return { label: status.replaceAll("_", " "), tone: "zinc" };
  }
}

/** Statuses that may still change: pages showing them refresh themselves. */
export const LIVE_STATUSES: ReadonlySet<string> = new Set(["started", "queued", "retry_scheduled"]);

export function jobStateMeta(state: string): { label: string; tone: Tone } {
  switch (state) {
    case "enabled":
      return { label: "on schedule", tone: "green" };
    case "disabled":
      return { label: "disabled", tone: "zinc" };
    case "paused":
      return { label: "paused", tone: "yellow" };
    case "dead_lettered":
      return { label: "paused: dead letters", tone: "red" };
    default:
      return { label: state, tone: "zinc" };
  }
}

export function deadLetterStatusMeta(status: string): { label: string; tone: Tone } {
  switch (status) {
    case "pending":
      return { label: "pending", tone: "orange" };
    case "replayed":
      return { label: "replayed", tone: "green" };
    case "resolved":
      return { label: "resolved", tone: "green" };
    case "permanently_failed":
      return { label: "permanently failed", tone: "red" };
    default:
      return { label: status, tone: "zinc" };
  }
}

export function priorityTone(priority: string): Tone {
  return priority === "critical" ? "red" : priority === "high" ? "orange" : priority === "low" ? "zinc" : "blue";
}

/** The first 8 characters of a UUID, for display (the full id is in the link and its title). */
export const shortId = (id: string) => id.slice(0, 8);

/** A compact one-line JSON of an object, cut at `max` characters. */
export function compactJson(value: unknown, max = 160): string {
  if (value == null) return "";
  const text = JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function firstLine(text: string | null | undefined, max = 140): string {
  if (!text) return "";
  const line = text.split("\n", 1)[0];
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
