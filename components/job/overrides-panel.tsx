import type { JobDefinition } from "@/lib/cron/define-job";
import { getJobOverrides } from "@/lib/app/operations/overrides";
import { getRuntime } from "@/lib/app/runtime";
import { OVERRIDES_CACHE_TTL_MS } from "@/lib/overrides/store";
import { Card, mutedText } from "../ui";
import { OverridesEditor } from "./overrides-editor";

/**
 * The job page's run-time overrides: per overridable field the code's value, the override (who
 * set it, when) and what applies, each editable and revertable through the admin API. The
 * page's Facts show the code's definition; this panel marks where an override changes it.
 */
export async function OverridesPanel({ job }: { job: JobDefinition }) {
  const { database } = await getRuntime();
  const view = await getJobOverrides({ db: database.db }, job);
  const overridden = view.fields.filter((f) => f.overridden).map((f) => f.field);
  return (
    <section aria-labelledby="overrides-heading" className="flex flex-col gap-3">
      <h2 id="overrides-heading" className="text-lg font-semibold">
        Run-time overrides
      </h2>
      <Card className="flex flex-col gap-3">
        <p className={`text-sm ${mutedText}`}>
          Change these without a redeploy. Each value is checked as the job&apos;s own definition is, audited, and applies from the next trigger (other instances within{" "}
          {OVERRIDES_CACHE_TTL_MS / 1000} s). {overridden.length ? `Overridden now: ${overridden.join(", ")}; the facts above show the code's values.` : "Nothing is overridden: the code's definition applies."}
        </p>
        {!view.applied && view.problem && (
          <p role="alert" className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100">
            The stored overrides do not apply (the code&apos;s definition runs): {view.problem.message}
          </p>
        )}
        <OverridesEditor jobName={job.name} view={JSON.parse(JSON.stringify(view))} />
      </Card>
    </section>
  );
}
