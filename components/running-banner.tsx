"use client";

import Link from "next/link";
import { useCallback, useEffect, useState } from "react";
import type { RunningJob } from "@/lib/db/queries/runs";
import { formatExpiresIn } from "@/lib/dashboard/format";
import { formatDuration } from "@/lib/format";
import { LIVE_POLL_MS, useLiveChanges } from "./live-updates";
import { Badge, linkClass } from "./ui";
import { Time } from "./time";

/** The run's job, linking to the run on its job's page. */
function RunLink({ run }: { run: RunningJob }) {
  return (
    <Link href={`/dashboard/admin/cron-jobs/${encodeURIComponent(run.jobName)}?run=${run.runId}`} className={linkClass}>
      {run.jobName}
    </Link>
  );
}

/**
 * What is running now (runs with a live lease), and apart from them the stale runs (status
 * started, lease expired: their holder stopped without recording an end; the sweep or a lease
 * clear on the locks page abandons them), with their holder and how long ago the lease expired.
 * Live runs show durations that tick every second, each run's attempt and latest
 * log line (written with its heartbeats while it runs). It runs the page's poll of
 * GET /api/admin/changes (components/live-updates.tsx): each answer's running runs show here,
 * and the page re-renders when its change token moves (a run started, finished, failed, was
 * skipped or missed, a dead letter or a job's state changed), in the background: the polls do
 * not keep the session alive.
 */
export function RunningBanner({ initial, token, pollMs = LIVE_POLL_MS }: { initial: RunningJob[]; token: string; pollMs?: number }) {
  const [state, setState] = useState({ runs: initial, receivedAt: 0 });
  const [now, setNow] = useState(0);

  useEffect(() => {
    setState({ runs: initial, receivedAt: Date.now() });
  }, [initial]);

  useEffect(() => {
    setNow(Date.now());
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(tick);
  }, []);

  const onRunning = useCallback((runs: RunningJob[]) => setState({ runs, receivedAt: Date.now() }), []);
  useLiveChanges({ token, pollMs, onRunning });

  const { runs: all, receivedAt } = state;
  const elapsed = now && receivedAt ? Math.max(0, (now - receivedAt) / 1000) : 0;
  const runs = all.filter((r) => !r.stale);
  const stale = all.filter((r) => r.stale);

  return (
    <section
      aria-labelledby="running-heading"
      className={`rounded-lg border p-4 ${
        stale.length
          ? "border-red-300 bg-red-50 dark:border-red-800 dark:bg-red-950/40"
          : runs.length
            ? "border-blue-300 bg-blue-50 dark:border-blue-800 dark:bg-blue-950/40"
            : "border-zinc-200 dark:border-zinc-800"
      }`}
    >
      <div className="flex items-center gap-2">
        {runs.length ? <span aria-hidden="true" className="size-2.5 animate-pulse rounded-full bg-blue-600" /> : null}
        <h2 id="running-heading" className="text-sm font-semibold">
          {runs.length ? `Running now: ${runs.length}` : "Nothing is running right now"}
        </h2>
        <span className="ml-auto text-xs text-zinc-600 dark:text-zinc-400">refreshes every {Math.round(pollMs / 1000)} s</span>
      </div>
      {runs.length ? (
        <ul className="mt-3 flex flex-col gap-2" aria-label="Running jobs">
          {runs.map((run) => (
            <li key={run.runId} className="flex flex-wrap items-center gap-x-3 gap-y-1 text-sm">
              <RunLink run={run} />
              <span className="font-mono tabular-nums">
                <span className="sr-only">running for </span>
                {formatDuration(Math.floor(run.runningSeconds + elapsed) * 1000)}
              </span>
              <span className="text-zinc-600 dark:text-zinc-400">
                {run.trigger} · started <Time iso={run.startedAt} format="time" />
                {run.holder ? ` · on ${run.holder}` : ""}
              </span>
              {run.attempts > 1 ? <span className="text-zinc-600 dark:text-zinc-400">attempt {run.attempts}</span> : null}
              {run.lastLine || run.lastAttemptError ? (
                <p className="w-full truncate font-mono text-xs text-zinc-700 dark:text-zinc-300" title={run.lastLine?.message ?? run.lastAttemptError ?? undefined}>
                  <span className="sr-only">latest log line: </span>
                  {run.lastLine ? (
                    <>
                      {run.lastLine.at ? (
                        <span className="text-zinc-500 dark:text-zinc-400">
                          <Time iso={run.lastLine.at} format="time" />{" "}
                        </span>
                      ) : null}
                      {run.lastLine.message}
                      {run.logCount > 1 ? <span className="text-zinc-500 dark:text-zinc-400"> ({run.logCount} lines)</span> : null}
                    </>
                  ) : (
                    <span className="text-red-800 dark:text-red-300">the last attempt failed: {run.lastAttemptError}</span>
                  )}
                </p>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
      {stale.length ? (
        <>
          <h3 id="stale-heading" className="mt-4 text-sm font-semibold text-red-900 dark:text-red-200">
            Stale: {stale.length} run{stale.length === 1 ? "" : "s"} whose holder stopped without recording an end
          </h3>
          <ul className="mt-2 flex flex-col gap-2" aria-label="Stale runs">
            {stale.map((run) => (
              <li key={run.runId} className="flex flex-wrap items-center gap-x-3 gap-y-1 text-sm">
                <RunLink run={run} />
                <Badge tone="red" title="The lease expired: its holder stopped heartbeating">
                  STALE
                </Badge>
                <span className="text-zinc-700 dark:text-zinc-300">
                  {run.leaseExpiresAt ? (
                    <>
                      lease expired <Time iso={run.leaseExpiresAt} />
                      {now ? ` (${formatExpiresIn(Math.round((Date.parse(run.leaseExpiresAt) - now) / 1000))})` : ""}
                    </>
                  ) : (
                    "lease expired"
                  )}
                  {run.holder ? ` · held by ${run.holder}` : ""} · started <Time iso={run.startedAt} />
                </span>
                <Link href="/dashboard/admin/locks" className={`${linkClass} text-xs`}>
                  Clear it on the locks page
                </Link>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}
