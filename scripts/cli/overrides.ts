import { getJobOverrides, revertJobOverrides, setJobOverrides } from "../../lib/app/operations/overrides";
import { OVERRIDABLE_FIELDS, type OverridableField } from "../../lib/cron/vocabulary";
import type { OverridesView } from "../../lib/overrides/view";
import type { CliContext } from "./context";
import { UsageError } from "./errors";
import { formatTime, table } from "./format";
import type { CommandInput } from "./spec";

/** `crondeck jobs override` and `crondeck jobs overrides` over lib/app/operations/overrides.ts. */

const str = (input: CommandInput, name: string): string | undefined => {
  const v = input.options[name];
  return typeof v === "string" ? v.trim() : undefined;
};

function int(input: CommandInput, name: string, example: string): number | undefined {
  const v = str(input, name);
  if (v === undefined) return undefined;
  if (!/^-?\d+(\.\d+)?$/.test(v)) throw new UsageError(`--${name} must be a number, such as --${name} ${example}; got "${v}"`);
  return Number(v);
}

const durationOrOff = (v: string | undefined) => (v === undefined ? undefined : v === "off" || v === "false" ? false : v);

/** The override document the options describe (validation is the operation's: defineJob's rules). */
export function documentOf(input: CommandInput): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  const timeout = str(input, "timeout");
  if (timeout !== undefined) doc.timeout = timeout;
  const retries = int(input, "retries", "3");
  if (retries !== undefined) doc.retries = retries;
  const backoff = {
    ...(str(input, "backoff-strategy") !== undefined && { strategy: str(input, "backoff-strategy") }),
    ...(str(input, "backoff-delay") !== undefined && { delay: str(input, "backoff-delay") }),
    ...(str(input, "backoff-max") !== undefined && { max: str(input, "backoff-max") }),
    ...(int(input, "backoff-factor", "2") !== undefined && { factor: int(input, "backoff-factor", "2") }),
  };
  if (Object.keys(backoff).length) doc.backoff = backoff;
  const missed = str(input, "missed");
  const missedMax = int(input, "missed-max", "5");
  if (missedMax !== undefined && missed === undefined) throw new UsageError("--missed-max goes with --missed: add --missed all (or once)");
  if (missed !== undefined) doc.missed = missedMax === undefined ? missed : { policy: missed, max: missedMax };
  const cron = str(input, "schedule");
  const every = str(input, "every");
  if (cron !== undefined && every !== undefined) throw new UsageError("give --schedule (a cron) or --every (an interval), not both");
  if (str(input, "timezone") !== undefined && cron === undefined) throw new UsageError('--timezone goes with --schedule: add --schedule "<cron>"');
  if (str(input, "offset") !== undefined && every === undefined) throw new UsageError("--offset goes with --every: add --every <duration>");
  if (cron !== undefined) doc.schedule = str(input, "timezone") ? { cron, timezone: str(input, "timezone") } : cron;
  if (every !== undefined) doc.schedule = str(input, "offset") ? { every, offset: str(input, "offset") } : { every };
  const alerts = {
    ...(int(input, "alerts-after", "2") !== undefined && { afterConsecutiveFailures: int(input, "alerts-after", "2") }),
    ...(str(input, "re-alert-after") !== undefined && { reAlertAfter: str(input, "re-alert-after") }),
    ...(str(input, "late-after") !== undefined && { lateAfter: durationOrOff(str(input, "late-after")) }),
    ...(str(input, "max-runtime") !== undefined && { maxRuntime: durationOrOff(str(input, "max-runtime")) }),
  };
  if (Object.keys(alerts).length) doc.alerts = alerts;
  return doc;
}

const shown = (value: unknown): string => (value === null || value === undefined ? "-" : typeof value === "string" ? value : JSON.stringify(value));

/** The view as rows: one per field, objects split into their parts (backoff.delay, alerts.maxRuntime...). */
function rowsOf(view: OverridesView): string[][] {
  const rows: string[][] = [];
  for (const f of view.fields) {
    const code = f.code as Record<string, unknown>;
    if (typeof f.code === "object" && f.code !== null && f.field !== "schedule") {
      const override = (f.override ?? {}) as Record<string, unknown>;
      const effective = f.effective as Record<string, unknown>;
      const overrideObject = typeof f.override === "object" && f.override !== null;
      for (const key of Object.keys(code)) {
        const o = overrideObject ? override[key] : f.override === null ? undefined : f.override;
        rows.push([`${f.field}.${key}`, shown(code[key]), o === undefined ? "" : shown(o), shown(effective[key])]);
      }
    } else {
      rows.push([f.field, shown(f.code), f.overridden ? shown(f.override) : f.overridable ? "" : "(fixed)", shown(f.effective)]);
    }
  }
  return rows;
}

function render(view: OverridesView): string {
  const lines = [table(["FIELD", "CODE", "OVERRIDE", "EFFECTIVE"], rowsOf(view))];
  if (view.setBy) lines.push(`overridden by ${view.setBy} at ${formatTime(view.setAt)}`);
  else lines.push("no overrides: the code's definition applies");
  if (!view.applied && view.problem) lines.push(`warning: the stored overrides do not apply (the code's definition runs): ${view.problem.message}`);
  const fixed = view.fields.find((f) => !f.overridable);
  if (fixed?.reason) lines.push(`note: the schedule cannot be overridden: ${fixed.reason}`);
  return lines.join("\n");
}

export async function jobsOverrides(ctx: CliContext, input: CommandInput): Promise<number> {
  const job = ctx.job(input.args[0]);
  const view = await getJobOverrides(await ctx.ops(), job);
  ctx.out.result({ ok: true, ...view }, () => render(view));
  return 0;
}

export async function jobsOverride(ctx: CliContext, input: CommandInput): Promise<number> {
  const job = ctx.job(input.args[0]);
  const field = input.args[1];
  const doc = documentOf(input);
  if (input.options.revert) {
    if (Object.keys(doc).length) throw new UsageError(`--revert takes no values: run \`crondeck jobs override ${job.name} --revert ${field ?? ""}\` alone, then set the new values`.replace("  ", " "));
    if (field !== undefined && !(OVERRIDABLE_FIELDS as readonly string[]).includes(field)) {
      throw new UsageError(`"${field}" is not an overridable field: revert one of ${OVERRIDABLE_FIELDS.join(", ")}, or give none to revert all`);
    }
    const view = await revertJobOverrides(await ctx.ops(), ctx.actor, { job, field: (field as OverridableField | undefined) ?? null });
    const message = view.changed ? `${job.name}: ${field ?? "every override"} reverted to the code's value` : `${job.name}: ${field ? `${field} was not overridden` : "nothing was overridden"}; nothing changed`;
    ctx.out.result({ ok: true, message, ...view }, () => `${message}\n${render(view)}`);
    return 0;
  }
  if (field !== undefined) throw new UsageError(`"${field}" is an extra argument: to revert it, add --revert (crondeck jobs override ${job.name} --revert ${field})`);
  if (Object.keys(doc).length === 0) {
    throw new UsageError(`nothing to override: give a value such as --timeout 10m or --retries 3 (\`crondeck jobs override --help\` lists them), or --revert [field]`);
  }
  const view = await setJobOverrides(await ctx.ops(), ctx.actor, { job, change: doc });
  const message = `${job.name}: overrode ${Object.keys(doc).join(", ")}; it applies from the next trigger (other instances within 5 s)`;
  ctx.out.result({ ok: true, message, ...view }, () => `${message}\n${render(view)}`);
  return 0;
}
