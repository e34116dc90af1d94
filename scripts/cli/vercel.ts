import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { checkVercelConfig, parseVercelJson, planVercelSync, type VercelCheckReport, type VercelPlan } from "../../lib/vercel/check";
import type { JobRouteNote } from "../../lib/vercel/crons";
import { applyDispatch, jobs as listedJobs } from "../../lib/jobs";
import type { CliContext } from "./context";
import { CliError, EXIT_FAILURE, EXIT_OK, UsageError } from "./errors";
import { stringOption, type CommandInput } from "./spec";

/**
 * vercel.json is checked against `jobs` of lib/jobs (what deploys), never the demo jobs,
 * dispatched as CRON_DISPATCH says (as the registry does), exactly as scripts/cron-sync.ts
 * writes it.
 */
function deployedJobs(ctx: CliContext) {
  return applyDispatch(listedJobs, ctx.env().CRON_DISPATCH);
}

export function planOf(ctx: CliContext, input: CommandInput): VercelPlan {
  const raw = stringOption(input, "plan");
  if (raw === undefined) return ctx.env().CRON_PLAN;
  if (raw !== "hobby" && raw !== "pro") throw new UsageError(`--plan must be hobby or pro; got "${raw}"`, "invalid_option");
  return raw;
}

export function vercelFile(ctx: CliContext, input: CommandInput): string {
  const file = stringOption(input, "file");
  return file ? resolve(ctx.cwd, file) : resolve(ctx.root, "vercel.json");
}

function shown(ctx: CliContext, file: string): string {
  const rel = relative(ctx.cwd, file);
  return rel && !rel.startsWith("..") ? rel : file;
}

/** Reads and parses vercel.json; null when there is none. */
export function readVercelJson(ctx: CliContext, file: string): Record<string, unknown> | null {
  if (!existsSync(file)) return null;
  const parsed = parseVercelJson(readFileSync(file, "utf8"));
  if (!parsed.ok) throw new CliError("invalid_vercel_json", `${shown(ctx, file)} ${parsed.error}`);
  return parsed.value;
}

export function renderCheck(report: VercelCheckReport, label: string): string[] {
  const lines: string[] = [];
  for (const issue of report.errors) lines.push(`error: ${issue.message}`);
  for (const issue of report.warnings) lines.push(`warning: ${issue.message}`);
  const counts = `${report.errors.length} error${report.errors.length === 1 ? "" : "s"}, ${report.warnings.length} warning${report.warnings.length === 1 ? "" : "s"}`;
  if (lines.length) lines.push("");
  lines.push(report.ok ? `${label}: ${report.crons} crons match the registry for the ${report.plan} plan (${counts}).` : `${label}: ${counts} for the ${report.plan} plan.`);
  return lines;
}

/** A line per job (what vercel.json does with it on the plan), warnings marked. */
export function renderNotes(notes: readonly JobRouteNote[]): string[] {
  return notes.map((n) => `  ${n.level === "warning" ? "! " : "- "}${n.message}`);
}

function reportJson(report: VercelCheckReport, file: string) {
  return { ok: report.ok, file, plan: report.plan, crons: report.crons, expected: report.expected, diff: report.diff, jobs: report.notes, errors: report.errors, warnings: report.warnings };
}

export async function vercelCheck(ctx: CliContext, input: CommandInput): Promise<number> {
  const plan = planOf(ctx, input);
  const file = vercelFile(ctx, input);
  const current = readVercelJson(ctx, file);
  if (!current) throw new CliError("vercel_json_missing", `${shown(ctx, file)} does not exist: \`crondeck vercel sync\` writes it from the registry`);
  const jobs = deployedJobs(ctx);
  const report = checkVercelConfig({ vercelJson: current, jobs, plan, now: ctx.now() });
  ctx.out.result(reportJson(report, file), () => renderCheck(report, shown(ctx, file)));
  return report.ok ? EXIT_OK : EXIT_FAILURE;
}

export async function vercelSync(ctx: CliContext, input: CommandInput): Promise<number> {
  const plan = planOf(ctx, input);
  const file = vercelFile(ctx, input);
  const current = readVercelJson(ctx, file);
  const jobs = deployedJobs(ctx);
  const sync = planVercelSync(current, jobs, plan, ctx.now());
  if (sync.changed) writeFileSync(file, sync.text);
  // What the written file still gets wrong (plan limits, redirects...): the registry cannot fix those.
  const report = checkVercelConfig({ vercelJson: sync.next, jobs, plan, now: ctx.now() });
  ctx.out.result({ ok: report.ok, file, plan, written: sync.changed, crons: report.crons, diff: sync.diff, jobs: sync.notes, errors: report.errors, warnings: report.warnings }, () => {
    const lines = sync.changed
      ? [
          `${shown(ctx, file)}: wrote ${report.crons} crons from ${jobs.length} jobs (${plan} plan).`,
          ...sync.diff.missing.map((c) => `  + ${c.path}  ${c.schedule}`),
          ...sync.diff.different.map((c) => `  ~ ${c.path}  ${c.schedule} -> ${c.expected}`),
          ...sync.diff.extra.map((c) => `  - ${c.path}  ${c.schedule}`),
        ]
      : [`${shown(ctx, file)} already matches the registry (${report.crons} crons); nothing written.`];
    lines.push("", `Jobs on the ${plan} plan:`, ...renderNotes(sync.notes));
    // The per-job warnings are the notes just printed; the rest (redirects, durations...) follows.
    const rest = { ...report, warnings: report.warnings.filter((w) => w.code !== "not_as_scheduled_on_plan") };
    if (rest.errors.length || rest.warnings.length) lines.push("", ...renderCheck(rest, shown(ctx, file)));
    return lines;
  });
  return report.ok ? EXIT_OK : EXIT_FAILURE;
}
