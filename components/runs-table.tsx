import Link from "next/link";
import type { HistoryRun } from "@/lib/db/queries/runs";
import { formatDuration } from "@/lib/format";
import { firstLine, shortId } from "@/lib/dashboard/format";
import { RunStatusBadge } from "./badges";
import { Time } from "./time";
import { cellClass, DataTable, EmptyState, linkClass, mutedText } from "./ui";


/** A job's recent runs, newest first; each links to its detail (?run=<id>). Scrolls sideways on a phone. */
export function RunsTable({ runs, runHref, selectedId, days }: { runs: HistoryRun[]; runHref: (id: string) => string; selectedId: string | null; days: number }) {
  if (runs.length === 0) {
    return <EmptyState title={`No runs in the last ${days} days`}>Use Run now, or wait for the next scheduled slot.</EmptyState>;
  }
  return (
    <DataTable label="Recent runs" caption="Recent runs, newest first" minWidthClass="min-w-[44rem]" columns={["Started", "Status", "Trigger", "Duration", "Attempts", "Error", "Run"]}>
      {runs.map((run) => (
        <tr key={run.id} data-run={run.id} aria-current={run.id === selectedId ? "true" : undefined} className={run.id === selectedId ? "bg-blue-50 dark:bg-blue-950/40" : undefined}>
          <td className={cellClass}>
            <Time iso={run.startedAt} />
          </td>
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
            <Link href={runHref(run.id)} scroll={false} className={`${linkClass} font-mono`} aria-label={`Details of run ${shortId(run.id)}`}>
              {shortId(run.id)}
            </Link>
          </td>
        </tr>
      ))}
    </DataTable>
  );
}
