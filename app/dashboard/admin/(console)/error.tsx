"use client";

import Link from "next/link";
import { useEffect } from "react";
import { buttonClass, linkClass } from "@/components/ui";

/** A dashboard page failed to render (the database is down, a query failed). The details are in the server log under the digest. */
export default function DashboardError({ error, retry }: { error: unknown; retry: () => void }) {
  const digest = error instanceof Error ? (error as Error & { digest?: string }).digest : undefined;
  useEffect(() => {
    console.error(error);
  }, [error]);
  return (
    <div role="alert" className="flex flex-col items-start gap-4 rounded-lg border border-red-300 bg-red-50 p-6 dark:border-red-800 dark:bg-red-950/40">
      <h1 className="text-xl font-semibold">This page could not be loaded</h1>
      <p className="max-w-prose text-sm">
        The server hit an error while reading the dashboard&apos;s data; the database may be unreachable. Try again in a moment; if it keeps
        happening, look for this reference in the server&apos;s log{digest ? ":" : "."}
        {digest ? <code className="ml-1 rounded bg-white px-1 font-mono dark:bg-zinc-900">{digest}</code> : null}
      </p>
      <div className="flex items-center gap-4">
        <button type="button" className={buttonClass.primary} onClick={() => retry()}>
          Try again
        </button>
        <Link href="/dashboard/admin/cron-jobs" className={linkClass}>
          Back to the jobs
        </Link>
      </div>
    </div>
  );
}
