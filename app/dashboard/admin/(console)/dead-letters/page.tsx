import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import { ActionButton } from "@/components/action-button";
import { DeadLetterStatusBadge, PriorityBadge } from "@/components/badges";
import { MarkFailedForm, NotesForm, ReplayInputForm } from "@/components/dead-letter-forms";
import { DeadLetterInsightSection, INSIGHT_WINDOWS } from "@/components/dead-letter-insight";
import { LiveUpdates } from "@/components/live-updates";
import { RequireRole } from "@/components/role";
import { Time } from "@/components/time";
import { Card, EmptyState, Facts, focusRing, linkClass, mutedText, PageHeader, Pager, Pre } from "@/components/ui";
import { JOB_NAME_RE } from "@/lib/cron/define-job";
import { inputFields } from "@/lib/cron/input";
import { BulkDeadLetters } from "@/components/dead-letter-bulk";
import { buttonClass, inputClass, labelClass } from "@/components/ui";
import { PRIORITIES, RECOVERY_STATUSES } from "@/lib/cron/vocabulary";
import { deadLetterInsight, INSIGHT_DEFAULT_DAYS } from "@/lib/db/queries/dead-letter-insight";
import { changeToken } from "@/lib/db/queries/changes";
import { DEAD_LETTER_SORTS, deadLetterSummary, listDeadLetters } from "@/lib/db/queries/dead-letters";
import { deadLetterStatusMeta, shortId } from "@/lib/dashboard/format";
import { intParam, oneOf, param, queryString, type SearchParams } from "@/lib/dashboard/params";
import { requireDashboardSession } from "@/lib/dashboard/session";
import { getRuntime } from "@/lib/app/runtime";

export const metadata: Metadata = { title: "Dead letters" };

const FILTERS = ["all", ...RECOVERY_STATUSES] as const;

/** A day (YYYY-MM-DD, a real date) from the URL, or null. */
function dayParam(sp: SearchParams, key: string): string | null {
  const value = param(sp, key, 10);
  if (!value || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return null;
  const at = new Date(`${value}T00:00:00Z`);
  // 2026-02-31 is no day: refused rather than read as March 3.
  return !Number.isNaN(at.getTime()) && at.toISOString().startsWith(value) ? value : null;
}
const PAGE_SIZE = 25;

/** One labelled field of the selection form (a GET form: the URL is the selection). */
function FilterInput({ name, label, value, type = "text", placeholder }: { name: string; label: string; value: string | null; type?: "text" | "date"; placeholder?: string }) {
  return (
    <div>
      <label htmlFor={`dl-${name}`} className={labelClass}>
        {label}
      </label>
      <input id={`dl-${name}`} name={name} type={type} defaultValue={value ?? ""} maxLength={200} className={inputClass} placeholder={placeholder} />
    </div>
  );
}

/** Runs that failed for good: replay them, settle them, or leave a note for the next person. */
export default async function DeadLettersPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  const sp = await searchParams;
  const filter = oneOf(sp, "status", FILTERS) ?? "pending";
  const jobParam = param(sp, "job", 100);
  const job = jobParam && JOB_NAME_RE.test(jobParam) ? jobParam : null;
  const page = intParam(sp, "page", 1, 1, 10_000);
  const days = oneOf(sp, "days", INSIGHT_WINDOWS.map(String)) ?? String(INSIGHT_DEFAULT_DAYS);
  // The selection beyond status and job: a reason's words, created from/to (days, UTC), a priority; and the order.
  const reason = param(sp, "reason", 200);
  const from = dayParam(sp, "from");
  const to = dayParam(sp, "to");
  const priority = oneOf(sp, "priority", PRIORITIES);
  const sort = oneOf(sp, "sort", DEAD_LETTER_SORTS);
  const keep = {
    status: filter === "pending" ? null : filter,
    job,
    days: days === String(INSIGHT_DEFAULT_DAYS) ? null : days,
    reason,
    from,
    to,
    priority,
    sort,
  };
  // `to` is a day: entries created on it are in.
  const selection = { jobName: job, reason, from: from ? new Date(`${from}T00:00:00Z`) : null, to: to ? new Date(Date.parse(`${to}T00:00:00Z`) + 86_400_000) : null, priority };
  await requireDashboardSession(`/dashboard/admin/dead-letters${queryString({ ...keep, page: page > 1 ? page : null })}`);

  const { database, registry } = await getRuntime();
  // Read before the page's data: a change while it renders moves the next poll's token.
  const token = await changeToken(database.db);
  const [{ entries, total, jobs }, summary, insight] = await Promise.all([
    listDeadLetters(database.db, { ...selection, status: filter === "all" ? null : filter, sort: sort ?? "newest", limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE }),
    deadLetterSummary(database.db),
    deadLetterInsight(database.db, { days: Number(days), jobName: job, now: new Date() }),
  ]);
  const counts: Record<string, number> = { ...summary, all: Object.values(summary).reduce((n, v) => n + Number(v), 0) };
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));

  return (
    <>
      <LiveUpdates token={token} />
      <PageHeader
        title="Dead letters"
        description="Runs that failed after all their retries. Replay one for its original slot, mark it permanently failed with a reason, or assign it."
      />
      <DeadLetterInsightSection insight={insight} keep={keep} />
      <nav aria-label="Filter by recovery status" className="flex flex-wrap gap-2">
        {FILTERS.map((f) => (
          <Link
            key={f}
            href={`/dashboard/admin/dead-letters${queryString({ status: f === "pending" ? null : f, job, days: keep.days })}`}
            aria-current={f === filter ? "page" : undefined}
            className={`rounded-full px-3 py-1 text-sm font-medium ring-1 ring-inset ${focusRing} ${
              f === filter ? "bg-zinc-900 text-white ring-zinc-900 dark:bg-zinc-100 dark:text-zinc-900 dark:ring-zinc-100" : "ring-zinc-300 hover:bg-zinc-100 dark:ring-zinc-700 dark:hover:bg-zinc-800"
            }`}
          >
            {f === "all" ? "All" : deadLetterStatusMeta(f).label} ({counts[f] ?? 0})
          </Link>
        ))}
      </nav>
      <form method="get" action="/dashboard/admin/dead-letters" role="search" aria-label="Select dead letters" className="flex flex-wrap items-end gap-3">
        {keep.status ? <input type="hidden" name="status" value={keep.status} /> : null}
        {job ? <input type="hidden" name="job" value={job} /> : null}
        {keep.days ? <input type="hidden" name="days" value={keep.days} /> : null}
        <FilterInput name="reason" label="Reason contains" value={reason} placeholder="timed out" />
        <FilterInput name="from" label="From (UTC day)" value={from} type="date" />
        <FilterInput name="to" label="To (UTC day)" value={to} type="date" />
        <div>
          <label htmlFor="dl-priority" className={labelClass}>
            Priority
          </label>
          <select id="dl-priority" name="priority" defaultValue={priority ?? ""} className={inputClass}>
            <option value="">Any</option>
            {[...PRIORITIES].reverse().map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="dl-sort" className={labelClass}>
            Order
          </label>
          <select id="dl-sort" name="sort" defaultValue={sort ?? "newest"} className={inputClass}>
            <option value="newest">Newest first</option>
            <option value="priority">Most urgent first</option>
          </select>
        </div>
        <button type="submit" className={buttonClass.secondary}>
          Apply
        </button>
      </form>
      {job ? (
        <p className="text-sm">
          Showing <span className="font-mono">{job}</span> only.{" "}
          <Link href={`/dashboard/admin/dead-letters${queryString({ status: keep.status })}`} className={linkClass}>
            Show every job
          </Link>
        </p>
      ) : null}

      {filter === "pending" && total > 0 ? (
        <BulkDeadLetters
          filter={Object.fromEntries(
            Object.entries({ jobName: job, reason, from: selection.from?.toISOString(), to: selection.to?.toISOString(), priority }).filter(([, v]) => v != null),
          )}
          total={total}
          jobs={jobs}
        />
      ) : null}
      {entries.length === 0 && total > 0 ? (
        // Past the last page (an old link, or entries settled since): say so, never "nothing pending".
        <EmptyState title={`Page ${page} is past the end`}>
          {total} entr{total === 1 ? "y matches" : "ies match"} on {pages} page{pages === 1 ? "" : "s"}.{" "}
          <Link href={`/dashboard/admin/dead-letters${queryString({ ...keep, page: pages > 1 ? pages : null })}`} className={linkClass}>
            Go to page {pages}
          </Link>
        </EmptyState>
      ) : entries.length === 0 ? (
        <EmptyState title={filter === "pending" ? "No pending dead letters" : "No dead letters here"}>
          {filter === "pending" ? "Every failed run has been replayed or settled. New ones appear when a run fails after its last retry." : "Try another status filter."}
        </EmptyState>
      ) : (
        <ul className="flex flex-col gap-4" aria-label="Dead-letter entries">
          {entries.map((entry) => {
            const def = registry.get(entry.jobName);
            const limit = def?.deadLetter.replayLimit ?? null;
            const jobHref = `/dashboard/admin/cron-jobs/${encodeURIComponent(entry.jobName)}`;
            return (
              <li key={entry.id} data-dead-letter={entry.id}>
                <Card className="flex flex-col gap-3">
                  <div className="flex flex-wrap items-center gap-2">
                    <h2 className="text-base font-semibold">
                      <Link href={jobHref} className={`${linkClass} font-mono`}>
                        {entry.jobName}
                      </Link>
                    </h2>
                    <DeadLetterStatusBadge status={entry.recoveryStatus} />
                    <PriorityBadge priority={entry.priority} />
                    <span className={`text-xs ${mutedText}`}>
                      replayed {entry.replayCount}
                      {limit !== null ? ` of ${limit}` : ""} times
                    </span>
                  </div>
                  <p className="text-sm break-words text-red-800 dark:text-red-300">{entry.failureReason}</p>
                  <Facts
                    items={[
                      [
                        "Failed run",
                        <Link key="run" href={`${jobHref}?run=${entry.runId}`} className={`${linkClass} font-mono`} aria-label={`Failed run ${shortId(entry.runId)} of ${entry.jobName}`}>
                          {shortId(entry.runId)}
                        </Link>,
                      ],
                      ["Slot", entry.scheduledFor ? <Time key="slot" iso={entry.scheduledFor} /> : "none (manual run)"],
                      ["Dead-lettered", <Time key="created" iso={entry.createdAt} />],
                      ["Attempts", entry.attempts],
                      ["Assigned to", entry.assignedTo ?? "nobody"],
                      [
                        "Last replay",
                        entry.lastReplayedAt ? (
                          <span key="replay">
                            <Time iso={entry.lastReplayedAt} />
                            {entry.lastReplayRunId ? (
                              <>
                                {" "}
                                (
                                <Link href={`${jobHref}?run=${entry.lastReplayRunId}`} className={`${linkClass} font-mono`}>
                                  {shortId(entry.lastReplayRunId)}
                                </Link>
                                )
                              </>
                            ) : null}
                          </span>
                        ) : (
                          "never"
                        ),
                      ],
                      ...(entry.resolvedAt ? ([["Settled", <Time key="resolved" iso={entry.resolvedAt} />]] as Array<[string, ReactNode]>) : []),
                    ]}
                  />
                  {entry.notes ? (
                    <div>
                      <h3 className="text-sm font-semibold">Notes</h3>
                      <p className="text-sm whitespace-pre-wrap break-words">{entry.notes}</p>
                    </div>
                  ) : null}
                  {entry.input !== null ? (
                    <div>
                      <h3 className="text-sm font-semibold">Input</h3>
                      <Pre label={`Input of run ${shortId(entry.runId)}`}>{JSON.stringify(entry.input, null, 2)}</Pre>
                    </div>
                  ) : null}
                  {entry.errorStack ? (
                    <details>
                      <summary className={`cursor-pointer rounded-sm text-sm ${focusRing}`}>Stack trace</summary>
                      <Pre label={`Stack trace of run ${shortId(entry.runId)}`}>{entry.errorStack}</Pre>
                    </details>
                  ) : null}
                  {/* Replay, settle, notes: an operator's (a viewer reads the entry above). */}
                  <RequireRole>
                    <div className="flex flex-wrap items-start gap-4 border-t border-zinc-200 pt-3 dark:border-zinc-800">
                      {entry.recoveryStatus === "pending" ? (
                        <ActionButton
                          label="Replay"
                          ariaLabel={`Replay ${entry.jobName} run ${shortId(entry.runId)}`}
                          method="POST"
                          path={`/api/admin/dead-letter-queue/${entry.id}/retry`}
                          variant="primary"
                          confirmAlign="left"
                          confirm={`Replay run ${shortId(entry.runId)} of ${entry.jobName}${entry.scheduledFor ? " for its original slot" : ""}? This counts against its replay limit${limit !== null ? ` (${entry.replayCount} of ${limit} used)` : ""}.`}
                          confirmLabel="Replay now"
                        />
                      ) : null}
                      {entry.recoveryStatus === "pending" && def?.input ? (
                        <details className="min-w-64 flex-1">
                          <summary className={`cursor-pointer rounded-sm text-sm font-medium ${focusRing}`}>Replay with edited input…</summary>
                          <div className="mt-2">
                            <ReplayInputForm id={entry.id} input={entry.input ?? def.input.default} fields={inputFields(def)} jobHref={jobHref} />
                          </div>
                        </details>
                      ) : null}
                      {entry.recoveryStatus === "pending" ? (
                        <details className="min-w-64 flex-1">
                          <summary className={`cursor-pointer rounded-sm text-sm font-medium ${focusRing}`}>Mark permanently failed…</summary>
                          <div className="mt-2">
                            <MarkFailedForm id={entry.id} />
                          </div>
                        </details>
                      ) : null}
                      <details className="min-w-64 flex-1">
                        <summary className={`cursor-pointer rounded-sm text-sm font-medium ${focusRing}`}>Notes, assignee and priority…</summary>
                        <div className="mt-2">
                          <NotesForm id={entry.id} notes={entry.notes} assignedTo={entry.assignedTo} priority={entry.priority} />
                        </div>
                      </details>
                    </div>
                  </RequireRole>
                </Card>
              </li>
            );
          })}
        </ul>
      )}

      <Pager page={page} pages={pages} total={total} href={(p) => `/dashboard/admin/dead-letters${queryString({ ...keep, page: p })}`} />
    </>
  );
}
