import Link from "next/link";
import type { ReactNode } from "react";
import type { HistoryRun } from "@/lib/db/queries/runs";
import { formatDuration } from "@/lib/format";
import { firstLine, shortId } from "@/lib/dashboard/format";
import { RunStatusBadge } from "./badges";
import { Time } from "./time";
import { cellClass, DataTable, EmptyState, linkClass, mutedText } from "./ui";


/**
 * Runs, newest first; each links to its detail (`runHref`, the job page's ?run=<id>). A job's
 * page lists its own; the run explorer lists every job's, with a Job column (`jobHref`).
 * `empty` is what shows when there are none. Scrolls sideways on a phone.
 */
export function RunsTable<R extends HistoryRun & { jobName?: string }>({
  runs,
  runHref,
  selectedId = null,
  label = "Recent runs",
  jobHref,
  empty,
}: {
  runs: R[];
  runHref: (run: R) => string;
  selectedId?: string | null;
  label?: string;
  /** Shows a Job column linking here. */
  jobHref?: (run: R) => string;
  empty: { title: string; body: ReactNode };
}) {
  if (runs.length === 0) return <EmptyState title={empty.title}>{empty.body}</EmptyState>;
  const columns = ["Started", ...(jobHref ? ["Job"] : []), "Status", "Trigger", "Duration", "Attempts", "Error", "Run"];
  return (
    <DataTable label={label} caption={`${label}, newest first`} minWidthClass={jobHref ? "min-w-[52rem]" : "min-w-[44rem]"} columns={columns}>
      {runs.map((run) => (
        <tr key={run.id} data-run={run.id} aria-current={run.id === selectedId ? "true" : undefined} className={run.id === selectedId ? "bg-blue-50 dark:bg-blue-950/40" : undefined}>
          <td className={cellClass}>
            <Time iso={run.startedAt} />
          </td>
          {jobHref ? (
            <td className={cellClass}>
              <Link href={jobHref(run)} className={`${linkClass} font-mono`}>
                {run.jobName}
              </Link>
            </td>
          ) : null}
          <td className={cellClass}>
            <RunStatusBadge status={run.status} skipReason={run.skipReason} />
          </td>
          <td className={cellClass}>
            {run.trigger}
            {run.actor ? <span className={`block text-xs ${mutedText}`}>by {run.actor}</span> : null}
            {run.replayOf ? <span className={`block text-xs ${mutedText}`}>replay of {shortId(run.replayOf)}</span> : null}
          </td>
          <td className={`${cellClass} tabular-nums whitespace-nowrap`}>{formatDuration(run.durationMs)}</td>
          <td className={`${cellClass} tabular-nums`}>{run.attempts ?? "—"}</td>
          <td className={`${cellClass} max-w-72 text-red-800 dark:text-red-300`}>
            <span title={run.error ?? undefined} className="break-words">
              {firstLine(run.error, 120)}
            </span>
          </td>
          <td className={cellClass}>
            <Link href={runHref(run)} scroll={false} className={`${linkClass} font-mono`} aria-label={`Details of run ${shortId(run.id)}`}>
              {shortId(run.id)}
            </Link>
          </td>
        </tr>
      ))}
    </DataTable>
  );
}
