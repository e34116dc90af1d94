"use client";

import Link from "next/link";
import { useEffect, useState } from "react";
import type { TickHealth } from "@/lib/db/queries/tick-health";
import { formatDuration } from "@/lib/format";
import { backgroundHeaders } from "./background-refresh";
import { linkClass } from "./ui";

type Shown = Pick<TickHealth, "state" | "late" | "lagMs" | "expectedEveryMs" | "lateAfterMs"> & { lastRunAt: string | null };

/**
 * The dashboard's health poll: asks GET /api/admin/tick on load and every `pollMs` while the tab
 * is visible (a background request: it does not keep the session alive), and shows a banner on
 * every console page while the tick is late. Reading the API also checks the tick on the server
 * (lib/app/tick-watch.ts), so an open dashboard alerts tick_late even when nothing else runs.
 * Renders nothing while the tick is on time, signed out, or before the first answer.
 */
export function TickBanner({ pollMs = 30_000 }: { pollMs?: number }) {
  const [shown, setShown] = useState<Shown | null>(null);

  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      if (stopped || document.hidden) return;
      try {
        const response = await fetch("/api/admin/tick?limit=1", { cache: "no-store", credentials: "same-origin", headers: { accept: "application/json", ...backgroundHeaders } });
        if (response.status === 401) {
          stopped = true;
          return;
        }
        if (!response.ok) return;
        const body = (await response.json()) as { health?: TickHealth };
        const h = body.health;
        if (stopped || !h || typeof h.late !== "boolean") return;
        setShown({ state: h.state, late: h.late, lagMs: h.lagMs, expectedEveryMs: h.expectedEveryMs, lateAfterMs: h.lateAfterMs, lastRunAt: h.lastRun?.startedAt ?? null });
      } catch {
        // a missed poll is fine: the next one comes
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), pollMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [pollMs]);

  if (!shown?.late) return null;
  const every = formatDuration(shown.expectedEveryMs);
  return (
    <div role="alert" data-tick-banner={shown.state} className="border-b border-red-300 bg-red-50 text-red-950 dark:border-red-800 dark:bg-red-950/60 dark:text-red-100">
      <div className="mx-auto flex max-w-screen-2xl flex-wrap items-baseline gap-x-3 gap-y-1 px-4 py-2 text-sm">
        <strong className="font-semibold">{shown.lastRunAt ? `The tick is late: it last ran ${formatDuration(shown.lagMs)} ago` : "The tick has never run"}</strong>
        <span>
          (expected every {every}). Missed-run detection, durable retries and the jobs the tick dispatches are stopped until it runs again: check the{" "}
          <code className="font-mono">/api/cron/tick</code> cron in vercel.json, CRON_SECRET and Deployment Protection.
        </span>
        <Link href="/dashboard/admin/tick" className={linkClass}>
          The tick&apos;s runs
        </Link>
      </div>
    </div>
  );
}
