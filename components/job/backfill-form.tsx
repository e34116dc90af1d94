"use client";

import { useRouter } from "next/navigation";
import { useCallback, useEffect, useId, useState } from "react";
import { callAdmin, jobPath } from "../admin-api";
import { useRole } from "../role";
import { buttonClass, inputClass, labelClass, mutedText } from "../ui";

/** A backfill as GET /api/admin/backfills/<id> answers it (without its slot list). */
export interface BackfillView {
  id: string;
  status: string;
  from: string;
  to: string;
  overlap: string;
  total: number;
  done: number;
  ran: number;
  completed: number;
  failed: number;
  skipped: number;
  nextSlot: string | null;
  actor: string;
  cancelRequestedAt: string | null;
  createdAt: string;
  error: string | null;
}

interface PlannedSlot {
  slot: string;
  run: { id: string; status: string; trigger: string; skipReason: string | null } | null;
  taken: boolean;
  willRun: boolean;
}

interface Plan {
  total: number;
  toRun: number;
  taken: number;
  slots: PlannedSlot[];
}

const POLL_MS = 1_000;

const progressText = (b: BackfillView) =>
  `${b.done} of ${b.total} slots: ${b.completed} completed, ${b.failed} failed, ${b.skipped} skipped${b.status === "running" && b.cancelRequestedAt ? " (stopping before the next slot)" : ""}`;

/**
 * The backfill form: Preview (the dry run) lists the slots, Run backfill starts it (202), then
 * the backfill's GET is polled for progress until it ends; Cancel stops it before the next slot.
 * A backfill already running when the page loads is followed the same way. A viewer sees the
 * progress and the recent backfills, not the form or Cancel.
 */
export function BackfillForm({ jobName, defaultFrom, defaultTo, recent }: { jobName: string; defaultFrom: string; defaultTo: string; recent: Array<BackfillView & { slotCount: number }> }) {
  const { canOperate } = useRole();
  const router = useRouter();
  const ids = { from: useId(), to: useId(), overlap: useId() };
  const [from, setFrom] = useState(defaultFrom);
  const [to, setTo] = useState(defaultTo);
  const [overlap, setOverlap] = useState<"skip" | "all">("skip");
  const [plan, setPlan] = useState<Plan | null>(null);
  const [error, setError] = useState<{ text: string; field?: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [current, setCurrent] = useState<BackfillView | null>(recent.find((b) => b.status === "running") ?? null);

  const poll = useCallback(async (id: string) => {
    const r = await callAdmin<{ backfill: BackfillView }>("GET", `/api/admin/backfills/${id}`);
    if (r.ok) setCurrent(r.data.backfill);
    return r.ok ? r.data.backfill : null;
  }, []);

  const running = current?.status === "running";
  const currentId = current?.id;
  useEffect(() => {
    if (!running || !currentId) return;
    const timer = setInterval(() => {
      void poll(currentId).then((b) => {
        // Once it ends, the page's history shows its runs.
        if (b && b.status !== "running") router.refresh();
      });
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [running, currentId, poll, router]);

  async function send(dryRun: boolean) {
    setBusy(true);
    setError(null);
    setMessage(null);
    const r = await callAdmin<{ plan: Plan; backfill: BackfillView | null; message: string }>("POST", jobPath(jobName, "backfill"), { from: from.trim(), to: to.trim(), overlap, dryRun });
    setBusy(false);
    if (!r.ok) {
      setError({ text: r.message, field: r.field });
      return;
    }
    setPlan(r.data.plan);
    setMessage(r.data.message);
    if (!dryRun && r.data.backfill) setCurrent(r.data.backfill);
  }

  async function cancel() {
    if (!current) return;
    setBusy(true);
    const r = await callAdmin<{ backfill: BackfillView; message: string }>("POST", `/api/admin/backfills/${current.id}/cancel`);
    setBusy(false);
    if (!r.ok) setError({ text: r.message });
    else {
      setCurrent(r.data.backfill);
      setMessage(r.data.message);
    }
  }

  const invalid = (field: string) => (error?.field === field ? true : undefined);
  return (
    <div className="mt-4 space-y-4">
      {canOperate ? (
        <form
          className="grid gap-3 sm:grid-cols-[1fr_1fr_auto_auto]"
          aria-label={`Backfill ${jobName}`}
          onSubmit={(e) => {
            e.preventDefault();
            void send(true);
          }}
        >
          <div>
            <label htmlFor={ids.from} className={labelClass}>
              From (ISO, included)
            </label>
            <input id={ids.from} name="from" className={`${inputClass} mt-1 font-mono`} value={from} onChange={(e) => setFrom(e.target.value)} aria-invalid={invalid("from")} />
          </div>
          <div>
            <label htmlFor={ids.to} className={labelClass}>
              To (ISO, included)
            </label>
            <input id={ids.to} name="to" className={`${inputClass} mt-1 font-mono`} value={to} onChange={(e) => setTo(e.target.value)} aria-invalid={invalid("to")} />
          </div>
          <div>
            <label htmlFor={ids.overlap} className={labelClass}>
              Slots with a run
            </label>
            <select id={ids.overlap} name="overlap" className={`${inputClass} mt-1`} value={overlap} onChange={(e) => setOverlap(e.target.value === "all" ? "all" : "skip")}>
              <option value="skip">skip them</option>
              <option value="all">run them again</option>
            </select>
          </div>
          <div className="flex items-end gap-2">
            <button type="submit" className={buttonClass.secondary} disabled={busy}>
              Preview
            </button>
            {plan && plan.toRun > 0 ? (
              <button type="button" className={buttonClass.primary} disabled={busy || running} onClick={() => void send(false)}>
                Run backfill
              </button>
          ) : null}
        </div>
      </form>
      ) : null}
      {error ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          {error.text}
        </p>
      ) : null}
      {message ? (
        <p role="status" className={`text-sm ${mutedText}`}>
          {message}
        </p>
      ) : null}
      {current ? (
        <div className="rounded-md border border-zinc-200 p-3 text-sm dark:border-zinc-800" aria-live="polite" data-testid="backfill-progress">
          <p>
            <span className="font-medium">Backfill {current.status}</span>: {progressText(current)}
            {current.nextSlot && running ? <span className={mutedText}> · next slot {current.nextSlot}</span> : null}
          </p>
          <progress className="mt-2 w-full" max={current.total} value={current.done} aria-label="Backfill progress" />
          {canOperate && running && !current.cancelRequestedAt ? (
            <button type="button" className={`${buttonClass.danger} mt-2`} disabled={busy} onClick={() => void cancel()}>
              Cancel backfill
            </button>
          ) : null}
        </div>
      ) : null}
      {plan ? (
        <div className="overflow-x-auto">
          <table className="min-w-[36rem] text-sm" aria-label="Backfill preview">
            <caption className={`text-left text-sm ${mutedText}`}>
              {plan.toRun} of {plan.total} slot(s) would run; {plan.taken} already have a run keyed by their slot.
            </caption>
            <thead>
              <tr>
                <th className="px-2 py-1 text-left">Slot (UTC)</th>
                <th className="px-2 py-1 text-left">Run so far</th>
                <th className="px-2 py-1 text-left">Backfill</th>
              </tr>
            </thead>
            <tbody>
              {plan.slots.map((s) => (
                <tr key={s.slot}>
                  <td className="px-2 py-1 font-mono">{s.slot}</td>
                  <td className="px-2 py-1">{s.run ? `${s.run.status}${s.run.skipReason ? ` (${s.run.skipReason})` : ""}, ${s.run.trigger} · ${s.run.id.slice(0, 8)}` : "—"}</td>
                  <td className="px-2 py-1">{s.willRun ? "runs" : "skipped (has a run)"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {recent.length > 0 ? (
        <div>
          <h3 className="text-sm font-semibold">Recent backfills</h3>
          <ul className={`mt-1 space-y-1 text-sm ${mutedText}`}>
            {recent.map((b) => (
              <li key={b.id}>
                <span className="font-mono">{b.id.slice(0, 8)}</span> {b.status} · {b.from} .. {b.to} · {progressText(b)} · by {b.actor}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </div>
  );
}
