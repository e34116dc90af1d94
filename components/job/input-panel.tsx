import type { JobDefinition } from "@/lib/cron/define-job";
import { inputFields } from "@/lib/cron/input";
import { RequireRole } from "../role";
import { Card, mutedText } from "../ui";
import { RunInputForm } from "./input-form";

/**
 * The job page's "Run with input": for a job with an input schema, a JSON editor prefilled
 * with the default input and the schema's fields described, posting to run now. Nothing for
 * a job that takes no input (its Run now button is enough), or for a viewer (it only runs).
 */
export async function RunInputPanel({ job }: { job: JobDefinition }) {
  if (!job.input) return null;
  const fields = inputFields(job);
  const initial = JSON.stringify(job.input.default ?? {}, null, 2);
  const jobHref = `/dashboard/admin/cron-jobs/${encodeURIComponent(job.name)}`;
  return (
    <RequireRole>
      <section aria-labelledby="run-input-heading" className="flex flex-col gap-3">
        <h2 id="run-input-heading" className="text-lg font-semibold">
          Run with input
        </h2>
        <Card className="flex flex-col gap-3">
          <p className={`text-sm ${mutedText}`}>
            Scheduled runs use the default input below. A run started here gets this input instead, checked against the job&apos;s input schema first; the run keeps it, and a
            replay of it runs with it again.
          </p>
          <RunInputForm
            path={`/api/admin/cron-jobs/${encodeURIComponent(job.name)}/run`}
            initial={initial}
            fields={fields}
            submitLabel="Run with this input"
            busyLabel="Starting…"
            runHref={jobHref}
          />
        </Card>
      </section>
    </RequireRole>
  );
}
