"use client";

import { useRouter } from "next/navigation";
import { useEffect, useRef, useState, useTransition } from "react";
import type { RunDetail, RunProgressView } from "@/lib/db/queries/run-detail";
import type { RunStatus } from "@/lib/cron/vocabulary";
import { formatDuration } from "@/lib/format";
import { backgroundHeaders, backgroundRefresh } from "./background-refresh";
import { Time } from "./time";
import { mutedText } from "./ui";

const th = "px-3 py-1.5 text-left text-xs font-semibold uppercase text-zinc-600 dark:text-zinc-400";

type Attempts = RunDetail["attemptDetails"];
type Lines = RunDetail["logLines"];

/** A run's attempts, one row each. */
export function AttemptsTable({ attempts, status, running }: { attempts: Attempts; status: RunStatus; running: number | null }) {
  if (!attempts.length && !running)
    return <p className={`text-sm ${mutedText}`}>{status === "skipped" || status === "missed" ? "This slot did not run, so it has no attempts." : "No attempt recorded yet."}</p>;
  return (
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
          {attempts.map((a) => (
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
          {running ? (
            <tr>
              <td className="px-3 py-1.5 tabular-nums">{running}</td>
              <td className="px-3 py-1.5" colSpan={3}>
                <span className="font-medium text-blue-800 dark:text-blue-300">running</span>
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </div>
  );
}

/** A run's log lines. */
export function LogLines({ lines, running }: { lines: Lines; running: boolean }) {
  if (!lines.length) return <p className={`text-sm ${mutedText}`}>{running ? "No log line yet." : "The job logged nothing."}</p>;
  return (
    <ol className="flex flex-col gap-1 font-mono text-xs" aria-label="Log lines">
      {lines.map((line, i) => (
        <li key={i} className="flex flex-wrap gap-x-3 break-words">
          <span className={mutedText}>
            <Time iso={line.at} format="time" />
          </span>
          <span>{line.message}</span>
          {line.data ? <span className={mutedText}>{JSON.stringify(line.data)}</span> : null}
        </li>
      ))}
    </ol>
  );
}

interface Live {
  status: RunStatus;
  attempts: number | null;
  attemptDetails: Attempts;
  logLines: Lines;
}

/**
 * A run's attempts and log lines. While the run is running (status started), they update as
 * they arrive without a reload: every `pollMs` (while the tab is visible) it asks
 * GET /api/admin/runs/<id>/progress?since=<lines it has> and appends the new lines; once the
 * run has ended it stops and re-renders the page once, so every other fact (status, duration,
 * error, output) is the recorded one. Background requests: they do not keep the session alive.
 */
export function LiveRunProgress({ runId, initial, pollMs = 2000 }: { runId: string; initial: Live; pollMs?: number }) {
  const router = useRouter();
  const [, startTransition] = useTransition();
  const [live, setLive] = useState<Live>(initial);
  const lines = useRef(initial.logLines);

  useEffect(() => {
    lines.current = initial.logLines;
    setLive(initial);
  }, [initial]);

  const running = live.status === "started";
  useEffect(() => {
    if (!running) return;
    let stopped = false;
    let busy = false;
    const poll = async () => {
      if (document.hidden || busy || stopped) return;
      busy = true;
      try {
        const since = lines.current.length;
        const response = await fetch(`/api/admin/runs/${encodeURIComponent(runId)}/progress?since=${since}`, {
          cache: "no-store",
          credentials: "same-origin",
          headers: { accept: "application/json", ...backgroundHeaders },
        });
        if (response.status === 401 || response.status === 404) {
          stopped = true;
          return;
        }
        if (!response.ok) return;
        const body = (await response.json()) as { progress?: RunProgressView };
        const p = body.progress;
        if (stopped || !p || !Array.isArray(p.logLines)) return;
        // The row holds fewer lines than we show (it cannot shrink while running): start over from its own.
        const next = p.logCount < since ? null : [...lines.current, ...p.logLines];
        if (next === null) {
          lines.current = [];
          return;
        }
        lines.current = next;
        setLive({ status: p.status, attempts: p.attempts, attemptDetails: p.attemptDetails, logLines: next });
        if (p.status !== "started") {
          stopped = true;
          startTransition(() => backgroundRefresh(() => router.refresh()));
        }
      } catch {
        // a missed poll is fine: the next one comes in a moment
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void poll(), pollMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [running, runId, pollMs, router]);

  // The attempt in progress: one more than those finished, while the run runs.
  const current = running && live.attempts && live.attempts > live.attemptDetails.length ? live.attempts : null;
  return (
    <>
      <div className="flex flex-col gap-2">
        <h3 className="text-sm font-semibold">
          Attempts
          {running ? <span className={`ml-2 text-xs font-normal ${mutedText}`}>live, refreshes every {Math.round(pollMs / 1000)} s</span> : null}
        </h3>
        <AttemptsTable attempts={live.attemptDetails} status={live.status} running={current} />
      </div>
      <div className="flex flex-col gap-2">
        <h3 className="text-sm font-semibold">Log lines</h3>
        <div aria-live={running ? "polite" : undefined}>
          <LogLines lines={live.logLines} running={running} />
        </div>
      </div>
    </>
  );
}
