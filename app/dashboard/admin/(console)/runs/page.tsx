import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import { RunsTable } from "@/components/runs-table";
import { buttonClass, Card, inputClass, labelClass, linkClass, mutedText, PageHeader } from "@/components/ui";
import { OperationError } from "@/lib/cron/errors";
import { RUN_STATUSES, RUN_TRIGGERS } from "@/lib/cron/vocabulary";
import { exploreRuns, type RunPage } from "@/lib/db/queries/run-explorer";
import { runStatusMeta } from "@/lib/dashboard/format";
import type { SearchParams } from "@/lib/dashboard/params";
import { requireDashboardSession } from "@/lib/dashboard/session";
import { NO_RUN_QUERY, parseRunQuery, RUN_WINDOWS, runQueryRecord, runQueryString, type RunQuery } from "@/lib/app/run-query";
import { getRuntime } from "@/lib/app/runtime";

export const metadata: Metadata = { title: "Runs" };

const PATH = "/dashboard/admin/runs";
const WINDOW_LABELS: Record<keyof typeof RUN_WINDOWS, string> = { "1h": "Last hour", "24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days", "90d": "Last 90 days" };
const TRIGGER_LABELS: Record<(typeof RUN_TRIGGERS)[number], string> = {
  schedule: "schedule",
  tick: "tick",
  manual: "manual (Run now)",
  retry: "retry",
  replay: "replay",
  catchup: "catch-up",
  backfill: "backfill",
};

/** An ISO instant as a datetime-local value (UTC, to the minute). */
const localValue = (iso: string | null) => (iso ? iso.slice(0, 16) : "");

function Checkboxes<T extends string>({ legend, name, values, checked, label }: { legend: string; name: string; values: readonly T[]; checked: readonly T[]; label: (v: T) => string }) {
  return (
    <fieldset className="min-w-0">
      <legend className={labelClass}>{legend}</legend>
      <div className="mt-1 flex flex-wrap gap-x-3 gap-y-1">
        {values.map((v) => (
          <label key={v} className="inline-flex items-center gap-1.5 text-sm">
            <input type="checkbox" name={name} value={v} defaultChecked={checked.includes(v)} className="h-4 w-4" />
            {label(v)}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

function Field({ id, label, children }: { id: string; label: string; children: ReactNode }) {
  return (
    <div className="min-w-40">
      <label htmlFor={id} className={labelClass}>
        {label}
      </label>
      {children}
    </div>
  );
}

/**
 * Every job's runs: filter by job, status, trigger, time range, error text and run id; page
 * through the whole history (newest first, by cursor); export what the filter selects as CSV
 * or JSON. The URL is the view: every filter and page is a link to share.
 */
export default async function RunsPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  const sp = await searchParams;
  const record = runQueryRecord(sp);
  let query: RunQuery = NO_RUN_QUERY;
  let problem: OperationError | null = null;
  try {
    query = parseRunQuery(record, new Date());
  } catch (error) {
    if (!(error instanceof OperationError)) throw error;
    problem = error;
  }
  await requireDashboardSession(`${PATH}${problem ? "" : runQueryString(query, { after: record.after, before: record.before })}`);

  const { database, registry } = await getRuntime();
  let page: RunPage = { runs: [], older: null, newer: null };
  if (!problem) {
    try {
      page = await exploreRuns(database.db, query.filter, query.position, query.limit);
    } catch (error) {
      if (!(error instanceof OperationError)) throw error;
      problem = error;
    }
  }
  const { filter, range } = query;
  const filtered = runQueryString({ ...query, limit: NO_RUN_QUERY.limit }) !== "";
  const exportHref = (format: "csv" | "json") => {
    const qs = runQueryString({ ...query, limit: NO_RUN_QUERY.limit });
    return `/api/admin/runs/export${qs ? `${qs}&` : "?"}format=${format}`;
  };

  return (
    <>
      <PageHeader
        title="Runs"
        description="Every job's runs, newest first. Filter them, page through the whole history, and export what you selected."
        actions={
          problem ? null : (
            <>
              <a href={exportHref("csv")} download className={buttonClass.secondary}>
                Export CSV
              </a>
              <a href={exportHref("json")} download className={buttonClass.secondary}>
                Export JSON
              </a>
            </>
          )
        }
      />
      <Card>
        <form method="get" action={PATH} role="search" aria-label="Filter runs" className="flex flex-col gap-4">
          <div className="flex flex-wrap items-end gap-3">
            <Field id="runs-job" label="Jobs (comma-separated)">
              <input id="runs-job" name="job" list="runs-job-names" defaultValue={filter.jobs.join(", ")} maxLength={2000} className={inputClass} placeholder="any job" />
              <datalist id="runs-job-names">
                {registry.list().map((j) => (
                  <option key={j.name} value={j.name} />
                ))}
              </datalist>
            </Field>
            <Field id="runs-last" label="Started">
              <select id="runs-last" name="last" defaultValue={range.last ?? ""} className={inputClass}>
                <option value="">Any time, or from/to</option>
                {Object.entries(WINDOW_LABELS).map(([key, label]) => (
                  <option key={key} value={key}>
                    {label}
                  </option>
                ))}
              </select>
            </Field>
            <Field id="runs-from" label="From (UTC)">
              <input id="runs-from" name="from" type="datetime-local" defaultValue={localValue(range.from)} className={inputClass} />
            </Field>
            <Field id="runs-to" label="To (UTC)">
              <input id="runs-to" name="to" type="datetime-local" defaultValue={localValue(range.to)} className={inputClass} />
            </Field>
            <Field id="runs-q" label="Error contains">
              <input id="runs-q" name="q" defaultValue={filter.error ?? ""} maxLength={200} className={inputClass} placeholder="connection refused" />
            </Field>
            <Field id="runs-id" label="Run id">
              <input id="runs-id" name="id" defaultValue={filter.id ?? ""} maxLength={36} className={`${inputClass} font-mono`} placeholder="3f2a9c1e" />
            </Field>
          </div>
          <Checkboxes legend="Status" name="status" values={RUN_STATUSES} checked={filter.statuses} label={(s) => runStatusMeta(s).label} />
          <Checkboxes legend="Trigger" name="trigger" values={RUN_TRIGGERS} checked={filter.triggers} label={(t) => TRIGGER_LABELS[t]} />
          <div className="flex items-center gap-3">
            <button type="submit" className={buttonClass.primary}>
              Apply
            </button>
            {filtered || problem ? (
              <Link href={PATH} className={linkClass}>
                Clear filters
              </Link>
            ) : null}
          </div>
        </form>
      </Card>

      {problem ? (
        <div role="alert" className="rounded-lg border border-red-300 bg-red-50 p-4 text-sm text-red-900 dark:border-red-800 dark:bg-red-950/40 dark:text-red-200">
          <p className="font-medium">This view cannot be shown: {problem.message}</p>
          <p className="mt-1">
            Change the filter above, or{" "}
            <Link href={PATH} className={linkClass}>
              start from every run
            </Link>
            .
          </p>
        </div>
      ) : (
        <section aria-labelledby="runs-heading" className="flex flex-col gap-3">
          <h2 id="runs-heading" className="sr-only">
            Matching runs
          </h2>
          <RunsTable
            runs={page.runs}
            label="Runs"
            runHref={(r) => `/dashboard/admin/cron-jobs/${encodeURIComponent(r.jobName)}?run=${r.id}`}
            jobHref={(r) => `/dashboard/admin/cron-jobs/${encodeURIComponent(r.jobName)}`}
            empty={
              query.position
                ? { title: "No more runs this way", body: <Link href={`${PATH}${runQueryString(query)}`} className={linkClass}>Back to the newest matching runs</Link> }
                : filtered
                  ? { title: "No runs match this filter", body: "Widen the time range, or clear a filter." }
                  : { title: "No runs yet", body: "Runs appear here as soon as a job is triggered." }
            }
          />
          <nav aria-label="Pages" className="flex flex-wrap items-center gap-4 text-sm">
            {query.position ? (
              <Link href={`${PATH}${runQueryString(query)}`} className={linkClass}>
                Newest
              </Link>
            ) : null}
            {page.newer ? (
              <Link href={`${PATH}${runQueryString(query, { before: page.newer })}`} className={linkClass} rel="prev">
                Newer
              </Link>
            ) : null}
            <span className={mutedText}>
              {page.runs.length} run{page.runs.length === 1 ? "" : "s"} on this page, newest first
            </span>
            {page.older ? (
              <Link href={`${PATH}${runQueryString(query, { after: page.older })}`} className={linkClass} rel="next">
                Older
              </Link>
            ) : null}
          </nav>
        </section>
      )}
    </>
  );
}
