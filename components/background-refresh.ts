"use client";

import { BACKGROUND_COOKIE, BACKGROUND_COOKIE_SECONDS, BACKGROUND_HEADER } from "@/lib/auth/background";

/**
 * The dashboard's own requests (polls, auto-refreshes) are marked so they do not count as the
 * user's activity: an open tab idles out like a closed one (lib/auth/background.ts).
 */

/** Headers for a background fetch of the admin API. */
export const backgroundHeaders = { [BACKGROUND_HEADER]: "1" } as const;

/** router.refresh() that the session check does not count: a short-lived marker cookie rides on the re-render's request. */
export function backgroundRefresh(refresh: () => void): void {
  document.cookie = `${BACKGROUND_COOKIE}=1; Path=/; Max-Age=${BACKGROUND_COOKIE_SECONDS}; SameSite=Strict`;
  refresh();
}
