import type { Metadata } from "next";
import { ActionButton } from "@/components/action-button";
import { JobFilters } from "@/components/job-filters";
import { JobTable } from "@/components/job-table";
import { RunningBanner } from "@/components/running-banner";
import { SummaryCards } from "@/components/summary-cards";
import { PageHeader } from "@/components/ui";
import { jobsDashboard } from "@/lib/app/jobs";
import { changeToken } from "@/lib/db/queries/changes";
import { JOB_SORTS, JOB_STATE_FILTERS } from "@/lib/db/queries/jobs";
import { oneOf, param, type SearchParams } from "@/lib/dashboard/params";
import { requireDashboardSession } from "@/lib/dashboard/session";
import { getRuntime } from "@/lib/app/runtime";

export const metadata: Metadata = { title: "Jobs" };

const DAYS = 30;

/** The overview: summary, what runs now, and every job with its state, stats and controls. */
export default async function CronJobsPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  const params = await searchParams;
  const values = {
    q: param(params, "q", 100),
    category: param(params, "category", 50),
    state: oneOf(params, "state", JOB_STATE_FILTERS),
    sort: oneOf(params, "sort", JOB_SORTS),
    order: oneOf(params, "order", ["asc", "desc"] as const),
  };
  const query = new URLSearchParams(Object.entries(values).filter((e): e is [string, string] => Boolean(e[1]))).toString();
  await requireDashboardSession(`/dashboard/admin/cron-jobs${query ? `?${query}` : ""}`);

  const { database, registry } = await getRuntime();
  const jobs = registry.list();
  // Read before the page's data: a change while it renders moves the next poll's token.
  const token = await changeToken(database.db);
  const { jobs: overview, summary, filtered, everyJobPaused, runningJobs: running, categories } = await jobsDashboard(database.db, jobs, {
    search: values.q,
    category: values.category,
    state: values.state,
    sort: values.sort ?? undefined,
    order: values.order ?? undefined,
    days: DAYS,
  });

  return (
    <>
      <PageHeader
        title="Cron jobs"
        description={`${jobs.length} job${jobs.length === 1 ? "" : "s"} registered. Stats cover the last ${DAYS} days; times are in your timezone (hover for UTC).`}
        actions={
          <>
            <ActionButton
              label="Pause all"
              method="POST"
              path="/api/admin/cron-jobs/pause-all"
              variant="danger"
              confirm={`Pause all ${jobs.length} jobs? Scheduled triggers will be recorded as skipped until you resume them. Run now still works.`}
              confirmLabel="Pause every job"
              withNote
            />
            <ActionButton
              label="Resume all"
              method="POST"
              path="/api/admin/cron-jobs/resume-all"
              variant={everyJobPaused ? "primary" : "secondary"}
              confirm="Resume every paused job? Jobs paused by dead letters resume too; disabled jobs stay disabled."
              confirmLabel="Resume every job"
            />
          </>
        }
      />
      <SummaryCards summary={summary} days={DAYS} />
      <RunningBanner initial={running} token={token} />
      <section aria-labelledby="jobs-heading" className="flex flex-col gap-4">
        <h2 id="jobs-heading" className="sr-only">
          Jobs
        </h2>
        <JobFilters values={values} categories={categories} sorts={[...JOB_SORTS.keys()]} states={[...JOB_STATE_FILTERS.keys()]} />
        <p className="text-sm text-zinc-600 dark:text-zinc-400" aria-live="polite">
          {filtered ? `${overview.length} of ${jobs.length} jobs match.` : `${overview.length} jobs.`}
        </p>
        <JobTable jobs={overview} days={DAYS} filtered={filtered} />
      </section>
    </>
  );
}
