"use client";

import { useRouter } from "next/navigation";
import { useId, useRef, useState, useTransition } from "react";
import { callAdmin } from "./admin-api";
import { Result } from "./dead-letter-forms";
import { useRole } from "./role";
import { buttonClass, Card, inputClass, labelClass, mutedText } from "./ui";

const BULK_PATH = "/api/admin/dead-letter-queue/bulk";

/** The selection as the bulk body's `filter` carries it (absent fields: any). */
export interface BulkFilter {
  jobName?: string;
  reason?: string;
  from?: string;
  to?: string;
  priority?: string;
}

type Action = "replay" | "mark_failed" | "resolve";
const WORDS: Record<Action, { button: string; confirm: string; done: string }> = {
  replay: { button: "Replay them", confirm: "Replay every one", done: "replayed" },
  mark_failed: { button: "Mark them failed", confirm: "Mark every one failed", done: "marked failed" },
  resolve: { button: "Resolve them", confirm: "Resolve every one", done: "resolved" },
};

interface BulkAnswer {
  count: number;
  remaining: number;
  notReplayable?: number;
  since?: string;
  replays?: Array<{ executionId: string }>;
  message: string;
}

/** Statuses of a run that is not over yet. */
const UNSETTLED = new Set(["started", "queued", "retry_scheduled"]);
const SETTLE_POLL_MS = 1_000;

/**
 * Waits until each run has its row and is over (a batch's replays run after its answer; the next
 * batch waits for them, so two replays of one job never contend for its lease), or `stop` asks.
 */
async function waitForRuns(ids: readonly string[], stop: { current: boolean }): Promise<void> {
  const open = new Set(ids);
  while (open.size > 0 && !stop.current) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
    for (const id of [...open]) {
      const progress = await callAdmin<{ progress: { status: string } }>("GET", `/api/admin/runs/${id}/progress`);
      if (progress.ok && !UNSETTLED.has(progress.data.progress.status)) open.delete(id);
    }
  }
}

/**
 * Acting on every pending entry the page's filters select (the list below is the preview): replay
 * them in batches (each within its job's replay limit, a batch after another until none is left,
 * with the progress shown and a Stop), or mark them failed or resolve them with a reason. Each
 * request is one audited action with its count. Nothing for a viewer.
 */
export function BulkDeadLetters({ filter, total, jobs }: { filter: BulkFilter; total: number; jobs: Record<string, number> }) {
  const { canOperate } = useRole();
  const router = useRouter();
  const [, startTransition] = useTransition();
  const [asking, setAsking] = useState<Action | null>(null);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const stop = useRef(false);
  const reasonId = useId();
  const jobList = Object.entries(jobs);

  async function act(action: Action) {
    setBusy(true);
    setResult(null);
    stop.current = false;
    let done = 0;
    let since: string | undefined;
    try {
      for (;;) {
        const body = action === "replay" ? { action, filter, ...(since ? { since } : {}) } : { action, filter, reason: reason.trim() };
        const answer = await callAdmin<BulkAnswer>("POST", BULK_PATH, body);
        if (!answer.ok) return setResult({ ok: false, text: answer.message });
        const { count, remaining, notReplayable, since: passStart, replays } = answer.data;
        since = passStart;
        const left = remaining ? `, ${remaining} to go` : "";
        const stuck = notReplayable ? `; ${notReplayable} out of replays or of a removed job (mark them failed or resolve them)` : "";
        if (replays?.length) {
          setResult({ ok: true, text: `${done} replayed, ${replays.length} replaying now${left}${stuck}.` });
          await waitForRuns(replays.map((r) => r.executionId), stop);
        }
        done += count;
        setResult({ ok: true, text: `${done} ${WORDS[action].done}${left}${stuck}.` });
        startTransition(() => router.refresh());
        if (count === 0 || remaining === 0 || stop.current) return;
      }
    } finally {
      setBusy(false);
      setAsking(null);
    }
  }

  if (!canOperate) return null;
  return (
    <Card>
      <section aria-labelledby="bulk-heading" className="flex flex-col gap-3">
        <h2 id="bulk-heading" className="text-sm font-semibold">
          Act on all {total} pending entr{total === 1 ? "y" : "ies"} these filters select
        </h2>
        <p className={`text-xs ${mutedText}`}>
          {jobList.map(([job, n]) => `${job}: ${n}`).join(" · ")}. Replays run a batch at a time, each within its job&apos;s replay limit, the most urgent first.
        </p>
        {asking ? (
          <div role="group" aria-label={`Confirm: ${WORDS[asking].button}`} className="flex flex-col gap-2">
            <p className="text-sm">
              {asking === "replay"
                ? `Replay up to ${total} entries for their original slots? Each replay counts against its entry's limit.`
                : `${asking === "resolve" ? "Resolve" : "Mark permanently failed"} ${total} entries? They leave the pending queue; the reason goes on each.`}
            </p>
            {asking !== "replay" ? (
              <div className="max-w-md">
                <label htmlFor={reasonId} className={labelClass}>
                  Reason (required)
                </label>
                <input id={reasonId} className={inputClass} value={reason} maxLength={1000} onChange={(e) => setReason(e.target.value)} />
              </div>
            ) : null}
            <div className="flex flex-wrap gap-2">
              <button type="button" className={asking === "replay" ? buttonClass.primary : buttonClass.danger} disabled={busy || (asking !== "replay" && !reason.trim())} onClick={() => void act(asking)}>
                {busy ? "Working…" : WORDS[asking].confirm}
              </button>
              {busy && asking === "replay" ? (
                <button type="button" className={buttonClass.secondary} onClick={() => (stop.current = true)}>
                  Stop after this batch
                </button>
              ) : (
                <button type="button" className={buttonClass.secondary} disabled={busy} onClick={() => setAsking(null)}>
                  Cancel
                </button>
              )}
            </div>
          </div>
        ) : (
          <div className="flex flex-wrap gap-2">
            {(Object.keys(WORDS) as Action[]).map((action) => (
              <button key={action} type="button" className={action === "replay" ? buttonClass.primary : buttonClass.secondary} onClick={() => setAsking(action)}>
                {WORDS[action].button}
              </button>
            ))}
          </div>
        )}
        <Result result={result} />
      </section>
    </Card>
  );
}
