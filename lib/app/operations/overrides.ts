import type { JobDefinition } from "../../cron/define-job";
import { OperationError } from "../../cron/errors";
import { OVERRIDABLE_FIELDS, type Actor, type OverridableField } from "../../cron/vocabulary";
import { ensureConfigRow, writeOverrides } from "../../db/commands/overrides";
import { inTransaction } from "../../db/commands/transaction";
import { fieldsOf, mergeOverrides, OverrideError, validateOverrides, type OverrideDocument } from "../../overrides/apply";
import { overrideCacheFor, readOverrides } from "../../overrides/store";
import { overridesView, type OverridesView } from "../../overrides/view";
import type { OperationDeps } from "./deps";

/**
 * Run-time overrides of a job's definition, one function per write for the admin API, the
 * dashboard (through the API) and the CLI. Each write locks the job's config row, merges,
 * validates the whole result as defineJob would, and stores it with its audit row in one
 * transaction; a refused change writes nothing. This process's cache is dropped after each write.
 */

const invalid = (error: OverrideError) => new OperationError("invalid", "invalid_override", error.message, error.field);

/** The job's overrides: per field, the code's value, the override and the effective value. */
export async function getJobOverrides(deps: Pick<OperationDeps, "db">, job: JobDefinition): Promise<OverridesView> {
  return overridesView(job, await readOverrides(deps.db, job.name));
}

/**
 * Sets overrides: the fields given replace the stored ones (backoff and alerts field by field),
 * a field given as null is reverted; with `replace`, the document given is the whole new one.
 * Returns the view after the write.
 */
export async function setJobOverrides(deps: Pick<OperationDeps, "db">, actor: Actor, input: { job: JobDefinition; change: unknown; replace?: boolean }): Promise<OverridesView> {
  const { job, change } = input;
  if (typeof change !== "object" || change === null || Array.isArray(change)) {
    throw new OperationError("invalid", "invalid_override", `job "${job.name}": overrides must be an object of the fields to override (${OVERRIDABLE_FIELDS.join(", ")})`, "overrides");
  }
  if (Object.keys(change).length === 0) throw new OperationError("invalid", "invalid_override", `job "${job.name}": overrides is empty: give at least one of ${OVERRIDABLE_FIELDS.join(", ")}`, "overrides");
  const stored = await inTransaction(deps.db, async (tx) => {
    await ensureConfigRow(tx, job.name, actor);
    const current = await readOverrides(tx, job.name, true);
    const merged = mergeOverrides(input.replace ? {} : (current.doc as OverrideDocument), change as Record<string, unknown>);
    let doc: OverrideDocument;
    try {
      doc = validateOverrides(job, merged).doc;
    } catch (error) {
      if (error instanceof OverrideError) throw invalid(error);
      throw error;
    }
    await writeOverrides(tx, actor, "job.override", { jobName: job.name, before: current.doc, after: doc, fields: Object.keys(change) });
    return readOverrides(tx, job.name);
  });
  overrideCacheFor(deps.db).invalidate();
  return overridesView(job, stored);
}

/** Reverts one field (or every field, `field` absent) to the code's value. Reverting what is not overridden changes nothing. */
export async function revertJobOverrides(deps: Pick<OperationDeps, "db">, actor: Actor, input: { job: JobDefinition; field?: OverridableField | null }): Promise<OverridesView & { changed: boolean }> {
  const { job } = input;
  const field = input.field ?? null;
  const result = await inTransaction(deps.db, async (tx) => {
    const current = await readOverrides(tx, job.name, true);
    const present = fieldsOf(current.doc as OverrideDocument);
    const fields = field === null ? present : present.filter((f) => f === field);
    if (fields.length === 0) return { stored: current, changed: false };
    const after = field === null ? null : mergeOverrides(current.doc as OverrideDocument, { [field]: null });
    // What is left must still apply: reverting a timeout under an overridden maxRuntime would leave a job defineJob refuses.
    if (after) {
      try {
        validateOverrides(job, after);
      } catch (error) {
        if (!(error instanceof OverrideError)) throw error;
        throw new OperationError("conflict", "override_revert_conflict", `reverting ${field} alone leaves an override the code refuses (${error.message}): revert ${error.field.split(".")[0]} too, or revert all`, field ?? undefined);
      }
    }
    await writeOverrides(tx, actor, "job.override_revert", { jobName: job.name, before: current.doc, after, fields });
    return { stored: await readOverrides(tx, job.name), changed: true };
  });
  if (result.changed) overrideCacheFor(deps.db).invalidate();
  return { ...overridesView(job, result.stored), changed: result.changed };
}
