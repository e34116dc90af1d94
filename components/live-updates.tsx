"use client";

import { useRouter } from "next/navigation";
import { useEffect, useRef, useTransition } from "react";
import type { RunningJob } from "@/lib/db/queries/runs";
import { backgroundHeaders, backgroundRefresh } from "./background-refresh";

/** How often a page asks whether anything changed. */
export const LIVE_POLL_MS = 3000;

interface ChangesBody {
  token?: unknown;
  runningJobs?: unknown;
}

/**
 * Keeps a page live: polls GET /api/admin/changes every `pollMs` while the tab is visible (and at
 * once when it becomes visible again), hands each answer's running runs to `onRunning`, and
 * re-renders the page's server components when the change token differs from the one the page
 * was rendered with (`token`, read before the page's own data, so a change while it rendered is
 * not lost). One poll loop per page: the running banner runs it on the overview, <LiveUpdates />
 * elsewhere. Polls and re-renders are background requests (components/background-refresh.ts):
 * they do not keep the session alive. A 401 (the session ended) stops the polling; any other
 * failure waits for the next poll.
 */
export function useLiveChanges({ token, pollMs = LIVE_POLL_MS, onRunning }: { token: string; pollMs?: number; onRunning?: (runs: RunningJob[]) => void }): void {
  const router = useRouter();
  const [, startTransition] = useTransition();
  const seen = useRef(token);
  const running = useRef(onRunning);

  // A re-render brings the token its data was read at: the next change is measured from it.
  useEffect(() => {
    seen.current = token;
  }, [token]);
  useEffect(() => {
    running.current = onRunning;
  }, [onRunning]);

  useEffect(() => {
    let stopped = false;
    let inFlight = false;
    const poll = async () => {
      if (stopped || inFlight || document.hidden) return;
      inFlight = true;
      try {
        const response = await fetch("/api/admin/changes", { cache: "no-store", credentials: "same-origin", headers: { accept: "application/json", ...backgroundHeaders } });
        if (response.status === 401) {
          stopped = true;
          return;
        }
        if (!response.ok) return;
        const body = (await response.json()) as ChangesBody;
        if (stopped || typeof body.token !== "string") return;
        if (Array.isArray(body.runningJobs)) running.current?.(body.runningJobs as RunningJob[]);
        if (body.token !== seen.current) {
          seen.current = body.token;
          startTransition(() => backgroundRefresh(() => router.refresh()));
        }
      } catch {
        // a missed poll is fine: the next one comes in a few seconds
      } finally {
        inFlight = false;
      }
    };
    const timer = setInterval(() => void poll(), pollMs);
    const onVisible = () => {
      if (!document.hidden) void poll();
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      stopped = true;
      clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [pollMs, router]);
}

/** {@link useLiveChanges} for a page without a running banner (the dead-letter page): it renders nothing. */
export function LiveUpdates({ token, pollMs }: { token: string; pollMs?: number }) {
  useLiveChanges({ token, pollMs });
  return null;
}
