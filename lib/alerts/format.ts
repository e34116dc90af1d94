import type { AlertEvent } from "./types";

/**
 * One set of facts per alert, rendered three ways: plain text (e-mail body, Slack fallback,
 * the `message` column of cron_alerts), an e-mail subject, and Slack blocks. Every channel
 * says the same thing because every channel starts from {@link alertFacts}.
 */

export interface AlertFacts {
  /** "health-check failed 3 times in a row" */
  headline: string;
  /** Label/value pairs in display order; absent facts are left out. */
  fields: Array<{ label: string; value: string }>;
  error: string | null;
  url: string | null;
}

/** Slack caps a header at 150 characters and a field at 2,000; an e-mail subject is best kept short too. */
const MAX_HEADLINE_CHARS = 150;
const MAX_ERROR_CHARS = 1_500;

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** What happened, as the end of a sentence that starts with the job's name. */
export function describeKind(event: AlertEvent): string {
  const n = event.consecutiveFailures;
  switch (event.kind) {
    case "failure":
      return n > 1 ? `failed ${n} times in a row` : "failed";
    case "dead_letter":
      return "was moved to the dead-letter queue";
    case "auto_paused":
      return "was paused automatically";
    case "missed":
      return event.scheduledFor ? `missed its ${event.scheduledFor.toISOString()} slot` : "missed a slot";
    case "recovered":
      if (event.detail?.monitor === "late") return "recovered: on time again";
      if (event.detail?.monitor === "tick_late") return "recovered: runs on schedule again";
      if (typeof event.detail?.monitor === "string") return `recovered: ${event.detail.monitor.replace(/_/g, " ")} back within its threshold`;
      return n > 0 ? `recovered after ${plural(n, "failure", "failures")} in a row` : "recovered";
    case "late":
      return event.scheduledFor ? `is late: no run has started for its ${event.scheduledFor.toISOString()} slot` : "is late: no run has started for its slot";
    case "long_running":
      return "is still running past its maxRuntime";
    case "regression":
      return "took far longer than its recent runs";
    case "failure_rate":
      return "fails more often than its failure-rate threshold";
    case "timeout_rate":
      return "times out more often than its timeout-rate threshold";
    case "lock_contention":
      return "meets a held lease more often than its lock-contention threshold";
    case "dead_letter_backlog":
      return "dead-letter queue over its backlog threshold";
    case "stale_lease":
      return "holds a lease that expired long ago";
    case "tick_late":
      return "has not run on schedule: missed-run detection, retries and tick-dispatched jobs are stopped";
    case "dead_letter_digest":
      return "dead-letter digest: entries are waiting for replay or settlement";
  }
}

function detailValue(value: string | number | boolean | null): string {
  return value === null ? "none" : String(value);
}

/** "missedSlots" -> "Missed slots" */
function detailLabel(key: string): string {
  const words = key
    .replace(/[_-]+/g, " ")
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Kinds about the whole queue, not the job they are filed under: their headline names no job. */
const SYSTEM_WIDE: ReadonlySet<AlertEvent["kind"]> = new Set(["dead_letter_backlog", "dead_letter_digest"]);

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

export function alertFacts(event: AlertEvent): AlertFacts {
  const fields: AlertFacts["fields"] = [
    { label: "Job", value: event.jobName },
    { label: "Category", value: event.category },
  ];
  if (event.runId) fields.push({ label: "Run", value: event.runId });
  if (event.scheduledFor) fields.push({ label: "Slot", value: event.scheduledFor.toISOString() });
  fields.push({ label: "Consecutive failures", value: String(event.consecutiveFailures) });
  fields.push({ label: "Time", value: event.at.toISOString() });
  for (const [key, value] of Object.entries(event.detail ?? {})) fields.push({ label: detailLabel(key), value: detailValue(value) });
  return {
    headline: clip(SYSTEM_WIDE.has(event.kind) ? capitalize(describeKind(event)) : `${event.jobName} ${describeKind(event)}`, MAX_HEADLINE_CHARS),
    fields,
    error: event.error ? clip(event.error, MAX_ERROR_CHARS) : null,
    url: event.url,
  };
}

/** The e-mail subject. */
export function formatAlertSubject(event: AlertEvent): string {
  return `[Crondeck] ${alertFacts(event).headline}`;
}

/** The plain-text message every channel carries (e-mail body, Slack fallback text, the stored message). */
export function formatAlertText(event: AlertEvent): string {
  const facts = alertFacts(event);
  const lines = [`[Crondeck] ${facts.headline}`, ""];
  for (const { label, value } of facts.fields) lines.push(`${label}: ${value}`);
  if (facts.error) lines.push(`Error: ${facts.error}`);
  if (facts.url) lines.push("", `Open in Crondeck: ${facts.url}`);
  return lines.join("\n");
}

/** Slack mrkdwn treats &, < and > as markup: https://api.slack.com/reference/surfaces/formatting#escaping */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export type SlackBlock = Record<string, unknown>;

/** Header, the facts as fields (Slack shows at most 10 per section), the error, and a button to the run. */
export function formatSlackBlocks(event: AlertEvent): SlackBlock[] {
  const facts = alertFacts(event);
  const blocks: SlackBlock[] = [{ type: "header", text: { type: "plain_text", text: facts.headline, emoji: false } }];
  for (let i = 0; i < facts.fields.length; i += 10) {
    blocks.push({
      type: "section",
      fields: facts.fields.slice(i, i + 10).map(({ label, value }) => ({ type: "mrkdwn", text: `*${label}*\n${escapeSlack(clip(value, 1_900))}` })),
    });
  }
  if (facts.error) {
    // Triple backticks inside the error would end the code block early.
    blocks.push({ type: "section", text: { type: "mrkdwn", text: `*Error*\n\`\`\`${escapeSlack(facts.error.replace(/```/g, "'''"))}\`\`\`` } });
  }
  if (facts.url) {
    blocks.push({
      type: "actions",
      elements: [{ type: "button", text: { type: "plain_text", text: event.runId ? "Open run" : "Open job" }, url: facts.url }],
    });
  }
  return blocks;
}
