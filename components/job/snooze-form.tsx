"use client";

import { useRouter } from "next/navigation";
import { useId, useState, useTransition } from "react";
import { callAdmin, jobPath } from "../admin-api";
import { useRole } from "../role";
import { buttonClass, inputClass, labelClass } from "../ui";

/**
 * "Snooze until...": a local date-time (sent as its UTC instant) or a preset (1 hour, 1 day: sent
 * as a duration, so the server's clock decides), and an optional note kept as the reason.
 * The API's refusal is shown next to the field it names. Nothing for a viewer.
 */
export function SnoozeForm({ jobName }: { jobName: string }) {
  const { canOperate } = useRole();
  const router = useRouter();
  const [, startTransition] = useTransition();
  const ids = { until: useId(), note: useId(), error: useId() };
  const [until, setUntil] = useState("");
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ text: string; field?: string } | null>(null);

  async function snooze(what: { until: string } | { for: string }) {
    setBusy(true);
    setError(null);
    const response = await callAdmin("POST", jobPath(jobName, "snooze"), { ...what, ...(note.trim() ? { note: note.trim() } : {}) });
    setBusy(false);
    if (!response.ok) {
      setError({ text: response.message, field: response.field });
      return;
    }
    setUntil("");
    setNote("");
    startTransition(() => router.refresh());
  }

  function submitUntil(event: React.FormEvent) {
    event.preventDefault();
    const at = new Date(until);
    if (!until || Number.isNaN(at.getTime())) {
      setError({ text: "until: pick a date and time.", field: "until" });
      return;
    }
    void snooze({ until: at.toISOString() });
  }

  if (!canOperate) return null;
  return (
    <form onSubmit={submitUntil} className="flex flex-col gap-2" aria-labelledby={`${ids.until}-legend`}>
      <span id={`${ids.until}-legend`} className="font-medium">
        Snooze until...
      </span>
      <div className="flex flex-wrap items-end gap-2">
        <div>
          <label htmlFor={ids.until} className={labelClass}>
            Until (your local time)
          </label>
          <input
            id={ids.until}
            type="datetime-local"
            className={inputClass}
            value={until}
            onChange={(e) => setUntil(e.target.value)}
            aria-invalid={error?.field === "until" || undefined}
            aria-describedby={error ? ids.error : undefined}
          />
        </div>
        <div className="min-w-56 flex-1">
          <label htmlFor={ids.note} className={labelClass}>
            Note (optional)
          </label>
          <input id={ids.note} type="text" maxLength={500} className={inputClass} value={note} onChange={(e) => setNote(e.target.value)} placeholder="database migration" />
        </div>
        <button type="submit" className={buttonClass.primary} disabled={busy}>
          Snooze
        </button>
        <button type="button" className={buttonClass.secondary} disabled={busy} onClick={() => void snooze({ for: "1h" })}>
          1 hour
        </button>
        <button type="button" className={buttonClass.secondary} disabled={busy} onClick={() => void snooze({ for: "1d" })}>
          1 day
        </button>
      </div>
      {error ? (
        <p id={ids.error} role="alert" className="text-sm text-red-700 dark:text-red-400">
          {error.text}
        </p>
      ) : null}
    </form>
  );
}
