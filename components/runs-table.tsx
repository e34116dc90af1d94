import Link from "next/link";
import type { HistoryRun } from "@/lib/db/queries/runs";
import { formatDuration } from "@/lib/format";
import { firstLine, shortId } from "@/lib/dashboard/format";
import { RunStatusBadge } from "./badges";
import { Time } from "./time";
import { EmptyState, focusRing, linkClass, mutedText } from "./ui";

const th = "px-3 py-2 text-left text-xs font-semibold tracking-wide uppercase text-zinc-600 dark:text-zinc-400 whitespace-nowrap";
const td = "px-3 py-2 align-top";

/** A job's recent runs, newest first; each links to its detail (?run=<id>). Scrolls sideways on a phone. */
export function RunsTable({ runs, runHref, selectedId, days }: { runs: HistoryRun[]; runHref: (id: string) => string; selectedId: string | null; days: number }) {
  if (runs.length === 0) {
    return <EmptyState title={`No runs in the last ${days} days`}>Use Run now, or wait for the next scheduled slot.</EmptyState>;
  }
  return (
    <div role="region" aria-label="Recent runs (scrolls sideways)" tabIndex={0} className={`overflow-x-auto rounded-lg border border-zinc-200 dark:border-zinc-800 ${focusRing}`}>
      <table className="w-full min-w-[44rem] text-sm">
        <caption className="sr-only">Recent runs, newest first</caption>
        <thead className="bg-zinc-50 dark:bg-zinc-900">
          <tr>
            <th scope="col" className={th}>Started</th>
            <th scope="col" className={th}>Status</th>
            <th scope="col" className={th}>Trigger</th>
            <th scope="col" className={th}>Duration</th>
            <th scope="col" className={th}>Attempts</th>
            <th scope="col" className={th}>Error</th>
            <th scope="col" className={th}>Run</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-200 dark:divide-zinc-800">
          {runs.map((run) => (
            <tr key={run.id} data-run={run.id} aria-current={run.id === selectedId ? "true" : undefined} className={run.id === selectedId ? "bg-blue-50 dark:bg-blue-950/40" : undefined}>
              <td className={td}>
                <Time iso={run.startedAt} />
              </td>
              <td className={td}>
                <RunStatusBadge status={run.status} skipReason={run.skipReason} />
              </td>
              <td className={td}>
                {run.trigger}
                {run.actor ? <span className={`block text-xs ${mutedText}`}>by {run.actor}</span> : null}
                {run.replayOf ? <span className={`block text-xs ${mutedText}`}>replay of {shortId(run.replayOf)}</span> : null}
              </td>
              <td className={`${td} tabular-nums whitespace-nowrap`}>{formatDuration(run.durationMs)}</td>
              <td className={`${td} tabular-nums`}>{run.attempts ?? "—"}</td>
              <td className={`${td} max-w-72 text-red-800 dark:text-red-300`}>
                <span title={run.error ?? undefined} className="break-words">
                  {firstLine(run.error, 120)}
                </span>
              </td>
              <td className={td}>
                <Link href={runHref(run.id)} scroll={false} className={`${linkClass} font-mono`} aria-label={`Details of run ${shortId(run.id)}`}>
                  {shortId(run.id)}
                </Link>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
