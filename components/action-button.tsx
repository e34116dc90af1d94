"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useId, useRef, useState, useTransition } from "react";
import { SKIP_REASONS, type AdminRole, type SkipReason } from "@/lib/cron/vocabulary";
import { runStatusMeta } from "@/lib/dashboard/format";
import { callAdmin } from "./admin-api";
import { useRole } from "./role";
import { buttonClass, inputClass, labelClass } from "./ui";

export interface ActionButtonProps {
  /** The button's text. */
  label: string;
  /** A longer accessible name when the label alone is ambiguous in a list ("Run health-check now"). */
  ariaLabel?: string;
  method: "POST" | "PUT" | "DELETE";
  path: string;
  body?: Record<string, unknown>;
  variant?: keyof typeof buttonClass;
  /** Ask before acting: this text, then Confirm / Cancel. */
  confirm?: string;
  confirmLabel?: string;
  /** Offer an optional note (sent as `note`), shown with the confirmation. */
  withNote?: boolean;
  /**
   * Which edge of the button the confirmation hangs from (it floats over the page, so the
   * header or row it sits in does not move): "right" (default) for actions at the right of a
   * header or a table, "left" for actions that start a line of content.
   */
  confirmAlign?: "left" | "right";
  /** Shown on success when the API's answer has no message. */
  successMessage?: string;
  /** Hide the success message (the page re-renders to show the new state). */
  quiet?: boolean;
  /**
   * Send an Idempotency-Key per click: a request sent again for the same click (the answer was
   * lost) is the same ask, answered with the run it started; the next click is a new key.
   */
  idempotent?: boolean;
  /**
   * The action starts a run after its answer (Run now): follow its first status and say what
   * happened, "started" or why it did not start (skipped: already running), instead of "will start".
   */
  followRun?: boolean;
  /**
   * The least role that may use it; for anyone else it does not render. Default operator: the
   * API refuses a viewer every write but their own API tokens'.
   */
  needs?: AdminRole;
}

const FOLLOW_POLL_MS = 700;
const FOLLOW_POLLS = 15;

/**
 * One admin action as a real <button>: optionally confirmed first, then the API call, then
 * a re-render of the page's server components (again a moment later for actions whose run
 * happens after the response). The API's message, or its error, is announced politely.
 * Nothing renders for a session whose role is below `needs`.
 */
export function ActionButton({
  label,
  ariaLabel,
  method,
  path,
  body,
  variant = "secondary",
  confirm,
  confirmLabel,
  withNote,
  confirmAlign = "right",
  successMessage,
  quiet,
  idempotent,
  followRun,
  needs = "operator",
}: ActionButtonProps) {
  const { allows } = useRole();
  const router = useRouter();
  const [, startTransition] = useTransition();
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState("");
  const [result, setResult] = useState<{ ok: boolean; text: string; runHref?: string; linkLabel?: string } | null>(null);
  const keyRef = useRef<string | null>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const triggerRef = useRef<HTMLButtonElement>(null);
  const noteId = useId();

  useEffect(() => {
    if (asking) confirmRef.current?.focus();
  }, [asking]);

  async function run() {
    setBusy(true);
    setResult(null);
    const payload = withNote && note.trim() ? { ...(body ?? {}), note: note.trim() } : body;
    const key = idempotent ? (keyRef.current ??= crypto.randomUUID()) : null;
    const response = await callAdmin(method, path, payload, key ? { "idempotency-key": key } : {});
    // Answered: this click's ask is settled, the next click is a new one. No answer: a retry is the same ask.
    if (response.status !== 0) keyRef.current = null;
    setBusy(false);
    setAsking(false);
    if (!response.ok) {
      setResult({ ok: false, text: response.message });
      return;
    }
    const data = response.data;
    const runHref =
      typeof data.executionId === "string" && typeof data.jobName === "string"
        ? `/dashboard/admin/cron-jobs/${encodeURIComponent(data.jobName)}?run=${data.executionId}`
        : undefined;
    if (!quiet || runHref) setResult({ ok: true, text: typeof data.message === "string" ? data.message : (successMessage ?? "Done."), runHref });
    startTransition(() => router.refresh());
    if (followRun && runHref && data.duplicate !== true && typeof data.executionId === "string" && typeof data.jobName === "string") {
      void follow(data.jobName, data.executionId, runHref);
    } else if (runHref) {
      // The run starts after the response: show it once it has had a moment.
      setTimeout(() => startTransition(() => router.refresh()), 1500);
      setTimeout(() => startTransition(() => router.refresh()), 4000);
    }
  }

  /** Polls the run's light progress until it has a row, then says what it is. */
  async function follow(jobName: string, runId: string, runHref: string) {
    for (let i = 0; i < FOLLOW_POLLS; i++) {
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
      const progress = await callAdmin<{ progress: { status: string; skipReason: SkipReason | null } }>("GET", `/api/admin/runs/${runId}/progress`);
      if (!progress.ok) continue; // 404 until the run has its row
      const { status, skipReason } = progress.data.progress;
      startTransition(() => router.refresh());
      if (status === "skipped") {
        const why = skipReason && Object.hasOwn(SKIP_REASONS, skipReason) ? SKIP_REASONS[skipReason] : "it was skipped";
        setResult({
          ok: true,
          text: `${jobName} did not start: ${why} (${runStatusMeta(status, skipReason).label}).`,
          runHref: `/dashboard/admin/cron-jobs/${encodeURIComponent(jobName)}`,
          linkLabel: "See what runs",
        });
      } else {
        setResult({ ok: true, text: `${jobName} ${status === "started" ? "started" : `ran: ${runStatusMeta(status).label}`}.`, runHref });
      }
      return;
    }
  }

  if (!allows(needs)) return null;
  return (
    <div className="relative inline-flex flex-col items-start gap-1">
      <button
        ref={triggerRef}
        type="button"
        className={buttonClass[variant]}
        aria-label={ariaLabel}
        disabled={busy || asking}
        aria-expanded={confirm ? asking : undefined}
        onClick={() => (confirm ? setAsking(true) : void run())}
      >
        {busy ? `${label}…` : label}
      </button>
      {asking ? (
        <div
          role="group"
          aria-label={`Confirm: ${ariaLabel ?? label}`}
          onKeyDown={(e) => {
            if (e.key !== "Escape" || busy) return;
            setAsking(false);
            setTimeout(() => triggerRef.current?.focus(), 0);
          }}
          className={`absolute top-full z-30 mt-1 flex w-80 max-w-[calc(100vw-2rem)] flex-col gap-2 rounded-md border ${confirmAlign === "right" ? "right-0" : "left-0"} border-zinc-300 bg-white p-3 text-sm shadow-lg dark:border-zinc-700 dark:bg-zinc-900`}>
          <p>{confirm}</p>
          {withNote ? (
            <div>
              <label htmlFor={noteId} className={labelClass}>
                Note (optional)
              </label>
              <input id={noteId} className={inputClass} value={note} maxLength={500} onChange={(e) => setNote(e.target.value)} />
            </div>
          ) : null}
          <div className="flex gap-2">
            <button ref={confirmRef} type="button" className={variant === "danger" ? buttonClass.danger : buttonClass.primary} disabled={busy} onClick={() => void run()}>
              {busy ? "Working…" : (confirmLabel ?? label)}
            </button>
            <button
              type="button"
              className={buttonClass.secondary}
              disabled={busy}
              onClick={() => {
                setAsking(false);
                setTimeout(() => triggerRef.current?.focus(), 0);
              }}
            >
              Cancel
            </button>
          </div>
        </div>
      ) : null}
      <div role="status" aria-live="polite" className="text-xs">
        {result?.ok ? (
          <span className="text-green-800 dark:text-green-300">
            {result.text}
            {result.runHref ? (
              <>
                {" "}
                <Link href={result.runHref} className="font-medium underline underline-offset-2">
                  {result.linkLabel ?? "View run"}
                </Link>
              </>
            ) : null}
          </span>
        ) : null}
      </div>
      {result && !result.ok ? (
        <p role="alert" className="max-w-xs text-xs text-red-800 dark:text-red-300">
          {result.text}
        </p>
      ) : null}
    </div>
  );
}

export function RunNowButton({ jobName, variant = "primary" }: { jobName: string; variant?: keyof typeof buttonClass }) {
  return (
    <ActionButton label="Run now" ariaLabel={`Run ${jobName} now`} method="POST" path={`/api/admin/cron-jobs/${encodeURIComponent(jobName)}/run`} variant={variant} idempotent followRun />
  );
}
