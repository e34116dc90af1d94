"use client";

import { useHydrated } from "./use-hydrated";

const utcText = (d: Date) => `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`;

const OPTIONS: Record<"datetime" | "date" | "time", Intl.DateTimeFormatOptions> = {
  datetime: { dateStyle: "medium", timeStyle: "medium" },
  date: { dateStyle: "medium" },
  time: { timeStyle: "medium" },
};

/**
 * A moment in the viewer's timezone, with the exact UTC instant on hover (title). The
 * server does not know the viewer's timezone, so the first render shows UTC and the
 * browser switches to local time right after hydration.
 */
export function Time({ iso, format = "datetime" }: { iso: string | null | undefined; format?: "datetime" | "date" | "time" }) {
  const hydrated = useHydrated();
  if (!iso) return <span>—</span>;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return <span>{iso}</span>;
  return (
    <time dateTime={d.toISOString()} title={`${d.toISOString()} (UTC)`}>
      {hydrated ? d.toLocaleString(undefined, OPTIONS[format]) : utcText(d)}
    </time>
  );
}
