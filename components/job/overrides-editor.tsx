"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition, type FormEvent } from "react";
import type { OverridesView } from "@/lib/overrides/view";
import { callAdmin, jobPath, type ApiResult } from "../admin-api";
import { useRole } from "../role";
import { Time } from "../time";
import { buttonClass, cellClass, DataTable, inputClass, mutedText } from "../ui";

/** A value as the table shows it and the editor takes it: text for strings and numbers, JSON for the rest. */
const shown = (value: unknown): string => (value === null || value === undefined ? "—" : typeof value === "string" ? value : JSON.stringify(value));
const editable = (value: unknown): string => (value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value));

/** What the operator typed: JSON when it parses ("3", {"delay": "30s"}), else the text itself ("10m", a cron). */
function valueOf(text: string): unknown {
  const trimmed = text.trim();
  try {
    return JSON.parse(trimmed);
  } catch {
    return trimmed;
  }
}

const HINTS: Record<string, string> = {
  timeout: '"4m" (at most 290s)',
  retries: "0 to 10",
  backoff: '{"strategy": "exponential", "delay": "30s", "max": "5m"}',
  alerts: '{"afterConsecutiveFailures": 2, "maxRuntime": "3m"}',
  missed: '"skip", "once", "all" or {"policy": "all", "max": 5}',
  schedule: '"*/10 * * * *", {"cron": "0 8 * * *", "timezone": "Europe/Paris"} or {"every": "90m"}',
};

/**
 * The overrides table with its forms: one per field (saved with PUT of the whole document, the
 * others kept), Revert per field and Revert all (DELETE). The API's 400 is shown under the
 * field it names. A viewer sees the table without its Change column.
 */
export function OverridesEditor({ jobName, view }: { jobName: string; view: OverridesView }) {
  const { canOperate } = useRole();
  const router = useRouter();
  const [, startTransition] = useTransition();
  const [drafts, setDrafts] = useState<Record<string, string>>(() => Object.fromEntries(view.fields.map((f) => [f.field, editable(f.override)])));
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<{ field: string; text: string } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const path = jobPath(jobName, "overrides");
  const anyOverridden = view.fields.some((f) => f.overridden);

  async function after(response: ApiResult, field: string) {
    setBusy(null);
    if (!response.ok) {
      const named = response.field?.split(".")[0];
      return setError({ field: named && view.fields.some((f) => f.field === named) ? named : field, text: response.message });
    }
    setNotice(typeof response.data.message === "string" ? response.data.message : "Saved.");
    startTransition(() => router.refresh());
  }

  async function save(event: FormEvent, field: string) {
    event.preventDefault();
    setError(null);
    setNotice(null);
    const text = drafts[field] ?? "";
    if (!text.trim()) return setError({ field, text: `${field}: give a value such as ${HINTS[field]}, or use Revert to go back to the code's value.` });
    setBusy(field);
    await after(await callAdmin("PUT", path, { ...view.overrides, [field]: valueOf(text) }), field);
  }

  async function revert(field: string | null) {
    setError(null);
    setNotice(null);
    setBusy(field ?? "all");
    await after(await callAdmin("DELETE", field ? `${path}?field=${field}` : path), field ?? "all");
  }

  return (
    <div className="flex flex-col gap-3">
      <DataTable label="Overrides" caption={`Overridable settings of ${jobName}: the code's value, the override and the effective value`} columns={canOperate ? ["Field", "Code", "Override", "Effective", "Change"] : ["Field", "Code", "Override", "Effective"]} minWidthClass="min-w-[56rem]">
        {view.fields.map((f) => {
          const inputId = `override-${f.field}`;
          const errorId = `${inputId}-error`;
          const fieldError = error?.field === f.field ? error.text : null;
          return (
            <tr key={f.field} data-field={f.field} className={f.overridden ? "bg-amber-50/60 dark:bg-amber-950/30" : undefined}>
              <th scope="row" className={`${cellClass} text-left font-medium`}>
                {f.field}
              </th>
              <td className={`${cellClass} font-mono text-xs break-all`}>{shown(f.code)}</td>
              <td className={`${cellClass} font-mono text-xs break-all`}>
                {f.overridden ? (
                  <>
                    <span data-testid={`override-value-${f.field}`}>{shown(f.override)}</span>
                    {view.setBy && (
                      <span className={`block font-sans ${mutedText}`}>
                        by {view.setBy}
                        {view.setAt && (
                          <>
                            , <Time iso={view.setAt} />
                          </>
                        )}
                      </span>
                    )}
                  </>
                ) : (
                  <span className={mutedText}>—</span>
                )}
              </td>
              <td className={`${cellClass} font-mono text-xs break-all`} data-testid={`effective-${f.field}`}>
                {shown(f.effective)}
              </td>
              {canOperate ? (
                <td className={cellClass}>
                  {f.overridable ? (
                    <form onSubmit={(e) => save(e, f.field)} className="flex flex-col gap-1">
                      <label htmlFor={inputId} className="sr-only">
                        Override {f.field}
                      </label>
                      <div className="flex gap-2">
                        <input
                          id={inputId}
                          className={`${inputClass} font-mono`}
                          value={drafts[f.field] ?? ""}
                          placeholder={HINTS[f.field]}
                          onChange={(e) => setDrafts((d) => ({ ...d, [f.field]: e.target.value }))}
                          aria-invalid={fieldError ? true : undefined}
                          aria-describedby={fieldError ? errorId : undefined}
                        />
                        <button type="submit" className={buttonClass.secondary} disabled={busy !== null} aria-label={`Save ${f.field} override`}>
                          {busy === f.field ? "Saving…" : "Save"}
                        </button>
                        {f.overridden && (
                          <button type="button" className={buttonClass.secondary} disabled={busy !== null} onClick={() => revert(f.field)} aria-label={`Revert ${f.field}`}>
                            Revert
                          </button>
                        )}
                      </div>
                      {fieldError && (
                        <p id={errorId} role="alert" className="text-sm text-red-700 dark:text-red-400">
                          {fieldError}
                        </p>
                      )}
                    </form>
                  ) : (
                    <p className={`text-sm ${mutedText}`}>Fixed: {f.reason}</p>
                  )}
                </td>
              ) : null}
            </tr>
          );
        })}
      </DataTable>
      <div className="flex items-center gap-3">
        {canOperate && anyOverridden && (
          <button type="button" className={buttonClass.secondary} disabled={busy !== null} onClick={() => revert(null)}>
            {busy === "all" ? "Reverting…" : "Revert all"}
          </button>
        )}
        {error?.field === "all" && (
          <p role="alert" className="text-sm text-red-700 dark:text-red-400">
            {error.text}
          </p>
        )}
        {notice && (
          <p role="status" className={`text-sm ${mutedText}`}>
            {notice}
          </p>
        )}
      </div>
    </div>
  );
}
