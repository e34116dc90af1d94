import Link from "next/link";
import type { ReactNode } from "react";
import type { RunDetail as Run } from "@/lib/db/queries/run-detail";
import { formatDuration } from "@/lib/format";
import { shortId } from "@/lib/dashboard/format";
import { RunStatusBadge } from "./badges";
import { LiveRunProgress } from "./live-run-progress";
import { Time } from "./time";
import { Card, Code, Facts, linkClass, Pre } from "./ui";

/**
 * One run: when, how, every attempt, its log lines, error and stack, and its output. A running
 * run's attempts and lines update as they arrive (components/live-run-progress.tsx).
 */
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

        <LiveRunProgress
          runId={run.id}
          initial={{ status: run.status, attempts: run.attempts, attemptDetails: run.attemptDetails, logLines: run.logLines }}
        />

        {run.input !== null && run.input !== undefined ? (
          <div className="flex flex-col gap-2">
            <h3 className="text-sm font-semibold">Input</h3>
            <Pre label="Run input">{JSON.stringify(run.input, null, 2)}</Pre>
          </div>
        ) : null}

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
