"use client";

import { useRouter } from "next/navigation";
import { useEffect, useState, useTransition } from "react";
import { callAdmin, jobPath } from "./admin-api";
import { useRole } from "./role";
import { focusRing } from "./ui";

/** A job's enabled switch (POST .../toggle { enabled }), with its state in words; for a viewer, the state in words alone. */
export function EnableToggle({ jobName, enabled }: { jobName: string; enabled: boolean }) {
  const { canOperate } = useRole();
  const router = useRouter();
  const [value, setValue] = useState(enabled);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [, startTransition] = useTransition();

  useEffect(() => setValue(enabled), [enabled]);

  async function flip() {
    const next = !value;
    setValue(next);
    setBusy(true);
    setError(null);
    const result = await callAdmin("POST", jobPath(jobName, "toggle"), { enabled: next });
    setBusy(false);
    if (!result.ok) {
      setValue(!next);
      setError(result.message);
      return;
    }
    startTransition(() => router.refresh());
  }

  if (!canOperate) {
    return (
      <span className="text-sm font-medium" data-enabled={enabled}>
        <span className="sr-only">{jobName} enabled: </span>
        {enabled ? "On" : "Off"}
      </span>
    );
  }
  return (
    <span className="inline-flex flex-col items-start gap-1">
      <button
        type="button"
        role="switch"
        aria-checked={value}
        aria-label={`Enable ${jobName}`}
        disabled={busy}
        onClick={() => void flip()}
        className={`group inline-flex items-center gap-2 rounded-full text-sm disabled:opacity-60 ${focusRing}`}
      >
        <span
          aria-hidden="true"
          className={`relative inline-flex h-5 w-9 shrink-0 items-center rounded-full transition-colors ${value ? "bg-green-600" : "bg-zinc-400 dark:bg-zinc-600"}`}
        >
          <span className={`inline-block size-4 rounded-full bg-white shadow transition-transform ${value ? "translate-x-4.5" : "translate-x-0.5"}`} />
        </span>
        <span aria-hidden="true" className="w-7 text-left font-medium">
          {value ? "On" : "Off"}
        </span>
      </button>
      {error ? (
        <span role="alert" className="max-w-40 text-xs text-red-800 dark:text-red-300">
          {error}
        </span>
      ) : null}
    </span>
  );
}
