"use client";

import { useRouter } from "next/navigation";
import { useEffect } from "react";
import { backgroundRefresh } from "./background-refresh";

/**
 * Re-renders the page's server components every `everyMs` while `active` (a run on the
 * page is still going), up to `maxTimes`. Skips while the tab is hidden. A background re-render:
 * it does not keep the session alive.
 */
export function AutoRefresh({ active, everyMs = 2000, maxTimes = 150 }: { active: boolean; everyMs?: number; maxTimes?: number }) {
  const router = useRouter();
  useEffect(() => {
    if (!active) return;
    let count = 0;
    const timer = setInterval(() => {
      if (document.hidden) return;
      if (++count > maxTimes) return clearInterval(timer);
      backgroundRefresh(() => router.refresh());
    }, everyMs);
    return () => clearInterval(timer);
  }, [active, everyMs, maxTimes, router]);
  return null;
}
