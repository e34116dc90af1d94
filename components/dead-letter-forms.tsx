"use client";

import { useRouter } from "next/navigation";
import { useId, useState, useTransition, type FormEvent } from "react";
import type { InputField } from "@/lib/cron/input";
import { PRIORITIES } from "@/lib/cron/vocabulary";
import { callAdmin } from "./admin-api";
import { RunInputForm } from "./job/input-form";
import { useRole } from "./role";
import { buttonClass, inputClass, labelClass } from "./ui";

const entryPath = (id: string, action: string) => `/api/admin/dead-letter-queue/${encodeURIComponent(id)}/${action}`;

function useSubmit() {
  const router = useRouter();
  const [, startTransition] = useTransition();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  async function submit(method: "POST" | "PUT", path: string, body: Record<string, unknown>, done: string) {
    setBusy(true);
    setResult(null);
    const response = await callAdmin(method, path, body);
    setBusy(false);
    if (!response.ok) return setResult({ ok: false, text: response.message });
    setResult({ ok: true, text: done });
    startTransition(() => router.refresh());
  }
  return { busy, result, submit };
}

/** An action's outcome: the message announced politely, an error as an alert. */
export function Result({ result }: { result: { ok: boolean; text: string } | null }) {
  return (
    <>
      <div role="status" aria-live="polite" className="text-xs text-green-800 dark:text-green-300">
        {result?.ok ? result.text : null}
      </div>
      {result && !result.ok ? (
        <p role="alert" className="text-xs text-red-800 dark:text-red-300">
          {result.text}
        </p>
      ) : null}
    </>
  );
}

/** POST .../mark-failed { reason }: settles a pending entry for good. */
export function MarkFailedForm({ id }: { id: string }) {
  const { canOperate } = useRole();
  const { busy, result, submit } = useSubmit();
  const [reason, setReason] = useState("");
  const fieldId = useId();
  function onSubmit(event: FormEvent) {
    event.preventDefault();
    void submit("POST", entryPath(id, "mark-failed"), { reason }, "Marked permanently failed.");
  }
  if (!canOperate) return null;
  return (
    <form onSubmit={onSubmit} className="flex flex-col gap-2">
      <div>
        <label htmlFor={fieldId} className={labelClass}>
          Reason (required)
        </label>
        <textarea id={fieldId} required maxLength={1000} rows={2} className={inputClass} value={reason} onChange={(e) => setReason(e.target.value)} />
      </div>
      <div>
        <button type="submit" className={buttonClass.danger} disabled={busy || !reason.trim()}>
          {busy ? "Marking…" : "Mark permanently failed"}
        </button>
      </div>
      <Result result={result} />
    </form>
  );
}

/** PUT .../notes { notes, assignedTo, priority }. */
export function NotesForm({ id, notes, assignedTo, priority }: { id: string; notes: string | null; assignedTo: string | null; priority: string }) {
  const { canOperate } = useRole();
  const { busy, result, submit } = useSubmit();
  const [values, setValues] = useState({ notes: notes ?? "", assignedTo: assignedTo ?? "", priority });
  const base = useId();
  function onSubmit(event: FormEvent) {
    event.preventDefault();
    void submit("PUT", entryPath(id, "notes"), { notes: values.notes.trim() || null, assignedTo: values.assignedTo.trim() || null, priority: values.priority }, "Saved.");
  }
  if (!canOperate) return null;
  return (
    <form onSubmit={onSubmit} className="flex flex-col gap-2">
      <div>
        <label htmlFor={`${base}-notes`} className={labelClass}>
          Notes
        </label>
        <textarea id={`${base}-notes`} maxLength={5000} rows={3} className={inputClass} value={values.notes} onChange={(e) => setValues({ ...values, notes: e.target.value })} />
      </div>
      <div className="grid gap-2 sm:grid-cols-2">
        <div>
          <label htmlFor={`${base}-assignee`} className={labelClass}>
            Assigned to
          </label>
          <input id={`${base}-assignee`} maxLength={200} className={inputClass} value={values.assignedTo} onChange={(e) => setValues({ ...values, assignedTo: e.target.value })} />
        </div>
        <div>
          <label htmlFor={`${base}-priority`} className={labelClass}>
            Priority
          </label>
          <select id={`${base}-priority`} className={inputClass} value={values.priority} onChange={(e) => setValues({ ...values, priority: e.target.value })}>
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div>
        <button type="submit" className={buttonClass.secondary} disabled={busy}>
          {busy ? "Saving…" : "Save notes"}
        </button>
      </div>
      <Result result={result} />
    </form>
  );
}

/**
 * POST .../retry { input }: replays the entry with an edited input (the server checks it with
 * the job's schema and records the edit, before and after, on the audit row).
 */
export function ReplayInputForm({ id, input, fields, jobHref }: { id: string; input: unknown; fields: InputField[]; jobHref: string }) {
  return (
    <RunInputForm
      path={entryPath(id, "retry")}
      initial={JSON.stringify(input ?? {}, null, 2)}
      fields={fields}
      submitLabel="Replay with this input"
      busyLabel="Replaying…"
      runHref={jobHref}
      label="Replay input (JSON)"
    />
  );
}
