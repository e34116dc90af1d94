"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useId, useState, useTransition, type FormEvent } from "react";
import type { InputField } from "@/lib/cron/input";
import { callAdmin } from "../admin-api";
import { useRole } from "../role";
import { buttonClass, inputClass, labelClass, linkClass, mutedText } from "../ui";

/**
 * A run's input as JSON, posted as `{ input }` to an admin endpoint (run now, a dead letter's
 * replay). The server checks it with the job's schema; its 400 names the field, shown beside
 * that field's description (or under the editor when it is the input as a whole). Nothing for a viewer.
 */
export function RunInputForm({
  path,
  initial,
  fields,
  submitLabel,
  busyLabel,
  runHref,
  label = "Input (JSON)",
}: {
  path: string;
  initial: string;
  fields: InputField[];
  submitLabel: string;
  busyLabel: string;
  /** Where the started run is shown (the job page with ?run=). */
  runHref: string;
  label?: string;
}) {
  const { canOperate } = useRole();
  const router = useRouter();
  const [, startTransition] = useTransition();
  const [text, setText] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ field: string | null; text: string } | null>(null);
  const [started, setStarted] = useState<string | null>(null);
  const base = useId();

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setStarted(null);
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch {
      return setError({ field: null, text: 'input: not valid JSON; write a JSON object such as {"days": 7}.' });
    }
    setBusy(true);
    const response = await callAdmin<{ executionId?: string }>("POST", path, { input });
    setBusy(false);
    if (!response.ok) {
      const field = response.field?.startsWith("input.") ? response.field.slice("input.".length) : null;
      return setError({ field: field && fields.some((f) => f.path === field) ? field : null, text: response.message });
    }
    setStarted(response.data.executionId ?? null);
    startTransition(() => router.refresh());
  }

  const fieldError = (path: string) =>
    error?.field === path ? (
      <p role="alert" className="text-xs text-red-800 dark:text-red-300" data-field-error={path}>
        {error.text}
      </p>
    ) : null;

  if (!canOperate) return null;
  return (
    <form onSubmit={onSubmit} className="flex flex-col gap-3">
      <div>
        <label htmlFor={`${base}-json`} className={labelClass}>
          {label}
        </label>
        <textarea
          id={`${base}-json`}
          rows={Math.min(12, Math.max(4, text.split("\n").length + 1))}
          spellCheck={false}
          className={`${inputClass} font-mono`}
          value={text}
          onChange={(e) => setText(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={fields.length ? `${base}-fields` : undefined}
        />
      </div>
      {fields.length ? (
        <dl id={`${base}-fields`} aria-label="Input fields" className="grid gap-x-4 gap-y-1 text-xs sm:grid-cols-[max-content_1fr]">
          {fields.map((f) => (
            <div key={f.path} className="contents">
              <dt className="font-mono font-medium">
                {f.path}
                {f.required ? "" : "?"}
              </dt>
              <dd className={mutedText}>
                {f.type}
                {f.constraints ? `, ${f.constraints}` : ""}
                {f.default !== undefined ? `, default ${JSON.stringify(f.default)}` : ""}
                {f.required ? ", required" : ""}
                {f.description ? ` — ${f.description}` : ""}
                {fieldError(f.path)}
              </dd>
            </div>
          ))}
        </dl>
      ) : null}
      {error && error.field === null ? (
        <p role="alert" className="text-xs text-red-800 dark:text-red-300">
          {error.text}
        </p>
      ) : null}
      <div className="flex flex-wrap items-center gap-3">
        <button type="submit" className={buttonClass.primary} disabled={busy}>
          {busy ? busyLabel : submitLabel}
        </button>
        <div role="status" aria-live="polite" className="text-xs text-green-800 dark:text-green-300">
          {started ? (
            <>
              Started run{" "}
              <Link href={`${runHref}?run=${started}`} className={`${linkClass} font-mono`}>
                {started.slice(0, 8)}
              </Link>
              .
            </>
          ) : null}
        </div>
      </div>
    </form>
  );
}
