import Link from "next/link";
import type { ReactNode } from "react";
import type { RunDetail as Run } from "@/lib/db/queries/run-detail";
import { formatDuration } from "@/lib/format";
import { shortId } from "@/lib/dashboard/format";
import { RunStatusBadge } from "./badges";
import { Time } from "./time";
import { Card, Code, Facts, linkClass, mutedText, Pre } from "./ui";

const th = "px-3 py-1.5 text-left text-xs font-semibold uppercase text-zinc-600 dark:text-zinc-400";

/** One run: when, how, every attempt, its log lines, error and stack, and its output. */
export function RunDetail({ run, closeHref, runHref }: { run: Run; closeHref: string; runHref: (id: string) => string }) {
  const facts: Array<[string, ReactNode]> = [
    ["Run id", <Code key="id">{run.id}</Code>],
    ["Trigger", `${run.trigger}${run.actor ? ` by ${run.actor}` : ""}`],
    ["Scheduled for", <Time key="slot" iso={run.scheduledFor} />],
    ["Started", <Time key="start" iso={run.startedAt} />],
    ["Completed", <Time key="end" iso={run.completedAt} />],
    ["Duration", formatDuration(run.durationMs)],
    ["Attempts", run.attempts ?? "—"],
    ["Holder", run.holder ?? "—"],
    ["Fencing token", run.fencingToken ?? "—"],
    ["Code version", run.codeVersion ?? "—"],
  ];
  if (run.leaseExpiresAt) facts.push(["Lease expires", <Time key="lease" iso={run.leaseExpiresAt} />]);
  if (run.nextRetryAt) facts.push(["Next retry", <Time key="retry" iso={run.nextRetryAt} />]);
  if (run.cancelRequestedAt) facts.push(["Cancel requested", <Time key="cancel" iso={run.cancelRequestedAt} />]);
  if (run.replayOf)
    facts.push([
      "Replay of",
      <Link key="replayOf" href={runHref(run.replayOf)} className={`${linkClass} font-mono`}>
        {shortId(run.replayOf)}
      </Link>,
    ]);
  if (run.deadLetter)
    facts.push([
      "Dead letter",
      <Link key="dlq" href={`/dashboard/admin/dead-letters?job=${encodeURIComponent(run.jobName)}`} className={linkClass}>
        {run.deadLetter.recoveryStatus.replaceAll("_", " ")}, replayed {run.deadLetter.replayCount}×
      </Link>,
    ]);

  return (
    <Card className="flex flex-col gap-5">
      <section aria-labelledby="run-detail-heading" className="flex flex-col gap-5">
        <div className="flex flex-wrap items-center gap-3">
          <h2 id="run-detail-heading" className="text-lg font-semibold">
            Run <span className="font-mono">{shortId(run.id)}</span>
          </h2>
          <RunStatusBadge status={run.status} skipReason={run.skipReason} />
          <Link href={closeHref} scroll={false} className={`${linkClass} ml-auto text-sm`}>
            Close run details
          </Link>
        </div>
        <Facts items={facts} />

        {run.error ? (
          <div className="flex flex-col gap-2">
            <h3 className="text-sm font-semibold">Error</h3>
            <p className="text-sm break-words text-red-800 dark:text-red-300">{run.error}</p>
            {run.errorStack ? <Pre label="Stack trace">{run.errorStack}</Pre> : null}
          </div>
        ) : null}

        <div className="flex flex-col gap-2">
          <h3 className="text-sm font-semibold">Attempts</h3>
          {run.attemptDetails.length ? (
            <div role="region" aria-label="Attempts (scrolls sideways)" tabIndex={0} className="overflow-x-auto">
              <table className="w-full min-w-[32rem] text-sm">
                <thead>
                  <tr>
                    <th scope="col" className={th}>#</th>
                    <th scope="col" className={th}>Started</th>
                    <th scope="col" className={th}>Duration</th>
                    <th scope="col" className={th}>Outcome</th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-zinc-200 dark:divide-zinc-800">
                  {run.attemptDetails.map((a) => (
                    <tr key={a.attempt}>
                      <td className="px-3 py-1.5 tabular-nums">{a.attempt}</td>
                      <td className="px-3 py-1.5">
                        <Time iso={a.startedAt} />
                      </td>
                      <td className="px-3 py-1.5 tabular-nums">{formatDuration(a.durationMs)}</td>
                      <td className="px-3 py-1.5 break-words">
                        {a.timedOut ? <span className="font-medium text-red-800 dark:text-red-300">timed out{a.error ? ": " : ""}</span> : null}
                        {a.error ? <span className="text-red-800 dark:text-red-300">{a.error}</span> : a.timedOut ? null : <span className="text-green-800 dark:text-green-300">succeeded</span>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <p className={`text-sm ${mutedText}`}>{run.status === "skipped" || run.status === "missed" ? "This slot did not run, so it has no attempts." : "No attempt recorded yet."}</p>
          )}
        </div>

        <div className="flex flex-col gap-2">
          <h3 className="text-sm font-semibold">Log lines</h3>
          {run.logLines.length ? (
            <ol className="flex flex-col gap-1 font-mono text-xs" aria-label="Log lines">
              {run.logLines.map((line, i) => (
                <li key={i} className="flex flex-wrap gap-x-3 break-words">
                  <span className={mutedText}>
                    <Time iso={line.at} format="time" />
                  </span>
                  <span>{line.message}</span>
                  {line.data ? <span className={mutedText}>{JSON.stringify(line.data)}</span> : null}
                </li>
              ))}
            </ol>
          ) : (
            <p className={`text-sm ${mutedText}`}>The job logged nothing.</p>
          )}
        </div>

        {run.output !== null && run.output !== undefined ? (
          <div className="flex flex-col gap-2">
            <h3 className="text-sm font-semibold">Output</h3>
            <Pre label="Run output">{JSON.stringify(run.output, null, 2)}</Pre>
          </div>
        ) : null}

        {run.replays.length ? (
          <div className="flex flex-col gap-2">
            <h3 className="text-sm font-semibold">Replays of this run</h3>
            <ul className="flex flex-col gap-1 text-sm">
              {run.replays.map((r) => (
                <li key={r.id} className="flex flex-wrap items-center gap-2">
                  <Link href={runHref(r.id)} className={`${linkClass} font-mono`}>
                    {shortId(r.id)}
                  </Link>
                  <RunStatusBadge status={r.status} />
                  <Time iso={r.startedAt} />
                </li>
              ))}
            </ul>
          </div>
        ) : null}
      </section>
    </Card>
  );
}
