import type { JobDefinition } from "@/lib/cron/define-job";
import { describeBackfill, listBackfills } from "@/lib/app/operations/backfills";
import { getRuntime } from "@/lib/app/runtime";
import { MAX_BACKFILL_SLOTS } from "@/lib/backfill/plan";
import { Card, mutedText } from "@/components/ui";
import { BackfillForm } from "./backfill-form";

const HOUR_MS = 3_600_000;

/**
 * The job page's backfill panel: a form (from, to, overlap -> Preview lists the exact slots and
 * their runs -> Run backfill -> progress -> Cancel) and the job's recent backfills. The runs a
 * backfill starts are in the history below, with trigger backfill.
 */
export async function BackfillPanel({ job }: { job: JobDefinition }) {
  const runtime = await getRuntime();
  const backfills = (await listBackfills({ db: runtime.database.db }, job.name, 5)).map((b) => describeBackfill(b));
  // The default range: the last 24 full hours (the form's fields are plain ISO instants).
  const lastHour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  return (
    <section aria-labelledby="backfill-heading">
      <Card>
        <h2 id="backfill-heading" className="text-lg font-semibold">
          Backfill
        </h2>
        <p className={`mt-1 text-sm ${mutedText}`}>
          Run this job&apos;s past slots over a range, one at a time, through the normal claim (trigger backfill; it runs even when the job is paused). Preview
          first: it lists the exact slots and those that already have a run. At most {MAX_BACKFILL_SLOTS.toLocaleString("en-US")} slots per backfill.
        </p>
        <BackfillForm
          jobName={job.name}
          defaultFrom={new Date(lastHour - 24 * HOUR_MS).toISOString()}
          defaultTo={new Date(lastHour).toISOString()}
          recent={backfills.map(({ slots, ...rest }) => ({ ...rest, slotCount: slots.length }))}
        />
      </Card>
    </section>
  );
}
