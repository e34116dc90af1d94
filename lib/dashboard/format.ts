import cronstrue from "cronstrue";
import { gridUnits, scheduleNotation } from "../cron/schedule";

export { gridUnits, scheduleNotation };
import type { JobState, Priority, RecoveryStatus, RunStatus } from "../cron/vocabulary";
import { formatDuration } from "../format";

/** View helpers for the dashboard: plain functions, no React, no database. Durations and rates: lib/format.ts. */

/** "in 23 s" for a lease that is still live, "expired 5 min ago" once it is not. */
export function formatExpiresIn(seconds: number): string {
  return seconds > 0 ? `in ${formatDuration(seconds * 1000)}` : seconds === 0 ? "now" : `expired ${formatDuration(-seconds * 1000)} ago`;
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


const UNIT_WORDS: Record<string, string> = { m: "minute", h: "hour", d: "day" };

/** "90m" -> "90 minutes", "1h" -> "hour" (after "every"), "6h" -> "6 hours". */
function unitsInWords(units: string, bare: boolean): string {
  const n = Number(units.slice(0, -1));
  const word = UNIT_WORDS[units.slice(-1)];
  if (n === 1) return bare ? word : `1 ${word}`;
  return `${n} ${word}s`;
}


/** "2026-12-24 09:00 UTC". */
export const formatUtcMinute = (at: Date) => `${at.toISOString().slice(0, 16).replace("T", " ")} UTC`;

/**
 * A schedule's notation (see scheduleNotation) or a cron expression in words ("Every 5 minutes",
 * "Every 90 minutes", "Once at 2026-12-24 09:00 UTC"), or null when it cannot be read.
 */
export function scheduleInWords(cron: string): string | null {
  const every = /^every (\d+[mhd])(?: offset (\d+[mhd]))?$/.exec(cron);
  if (every) return `Every ${unitsInWords(every[1], true)}${every[2] ? `, offset ${unitsInWords(every[2], false)} from the UTC grid` : ""}`;
  const once = /^once (\S+)$/.exec(cron);
  if (once) {
    const at = new Date(once[1]);
    return Number.isNaN(at.getTime()) ? null : `Once at ${formatUtcMinute(at)}`;
  }
  try {
    const text = cronstrue.toString(cron, { use24HourTimeFormat: true, throwExceptionOnParseError: true, verbose: false });
    return text || null;
  } catch {
    return null;
  }
}

export type Tone = "green" | "red" | "yellow" | "blue" | "zinc" | "orange" | "purple";

type Meta = { label: string; tone: Tone };

const RUN_STATUS_META: Record<RunStatus, Meta> = {
  completed: { label: "completed", tone: "green" },
  failed: { label: "failed", tone: "red" },
  timed_out: { label: "timed out", tone: "red" },
  abandoned: { label: "abandoned", tone: "orange" },
  started: { label: "running", tone: "blue" },
  queued: { label: "queued", tone: "blue" },
  retry_scheduled: { label: "retry scheduled", tone: "yellow" },
  skipped: { label: "skipped", tone: "zinc" },
  missed: { label: "missed", tone: "purple" },
  replaced: { label: "replaced", tone: "zinc" },
};

/** A name of the vocabulary in words, for a value the table does not know (a newer database). */
const unknownMeta = (name: string): Meta => ({ label: name.replaceAll("_", " "), tone: "zinc" });
const metaOf = <K extends string>(table: Record<K, Meta>, name: string): Meta => (Object.hasOwn(table, name) ? table[name as K] : unknownMeta(name));

/** How a run status reads and looks. Colour always comes with its word. */
export function runStatusMeta(status: RunStatus | string, skipReason?: string | null): Meta {
  const meta = metaOf(RUN_STATUS_META, status);
  return status === "skipped" && skipReason ? { ...meta, label: `skipped: ${skipReason.replaceAll("_", " ")}` } : meta;
}

/** Statuses that may still change: pages showing them refresh themselves. */
export const LIVE_STATUSES: ReadonlySet<string> = new Set<RunStatus>(["started", "queued", "retry_scheduled"]);

const JOB_STATE_META: Record<JobState, Meta> = {
  enabled: { label: "on schedule", tone: "green" },
  disabled: { label: "disabled", tone: "zinc" },
  paused: { label: "paused", tone: "yellow" },
  dead_lettered: { label: "paused: dead letters", tone: "red" },
};

export const jobStateMeta = (state: JobState | string): Meta => metaOf(JOB_STATE_META, state);

const RECOVERY_STATUS_META: Record<RecoveryStatus, Meta> = {
  pending: { label: "pending", tone: "orange" },
  replayed: { label: "replayed", tone: "green" },
  resolved: { label: "resolved", tone: "green" },
  permanently_failed: { label: "permanently failed", tone: "red" },
};

export const deadLetterStatusMeta = (status: RecoveryStatus | string): Meta => metaOf(RECOVERY_STATUS_META, status);

const PRIORITY_TONE: Record<Priority, Tone> = { critical: "red", high: "orange", normal: "blue", low: "zinc" };

export const priorityTone = (priority: Priority | string): Tone => (Object.hasOwn(PRIORITY_TONE, priority) ? PRIORITY_TONE[priority as Priority] : "blue");

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
