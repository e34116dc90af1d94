"use client";

import { useHydrated } from "../use-hydrated";
import { mutedText } from "../ui";

/** "UTC+02:00" for an offset in minutes east of UTC. */
function offsetText(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `UTC${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

/** The offset (minutes east of UTC) of `timeZone` at an instant, read through Intl (the browser's and Node's zone data). */
function zoneOffset(timeZone: string, at: Date): number {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric" }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour") % 24, get("minute"));
  return Math.round((wall - Math.floor(at.getTime() / 60_000) * 60_000) / 60_000);
}

const wallIn = (timeZone: string | undefined, at: Date) =>
  at.toLocaleString("en-GB", { timeZone, weekday: "short", year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

/**
 * The next fire times, each in the viewer's local time (after hydration: the server does not
 * know the viewer's zone), in UTC, and in the job's timezone when it has one; a row where a
 * zone's offset differs from the row before (or from now, for the first) is marked as a DST
 * change, as Temporal's schedule describe shows them.
 */
export function SlotTimes({ slots, timezone, nowIso }: { slots: string[]; timezone: string | null; nowIso: string }) {
  const hydrated = useHydrated();
  const zoned = timezone && timezone !== "UTC" ? timezone : null;
  const localZone = hydrated ? Intl.DateTimeFormat().resolvedOptions().timeZone : null;
  let previous = new Date(nowIso);
  const rows = slots.map((iso) => {
    const at = new Date(iso);
    const changes: string[] = [];
    if (zoned) {
      const [before, after] = [zoneOffset(zoned, previous), zoneOffset(zoned, at)];
      if (before !== after) changes.push(`${zoned}: ${offsetText(before)} → ${offsetText(after)}`);
    }
    if (localZone && localZone !== zoned) {
      const [before, after] = [-previous.getTimezoneOffset(), -at.getTimezoneOffset()];
      if (before !== after) changes.push(`your time (${localZone}): ${offsetText(before)} → ${offsetText(after)}`);
    }
    previous = at;
    return { iso, at, changes };
  });
  return (
    <table className="w-full text-left text-sm" data-testid="next-fire-times">
      <thead className={mutedText}>
        <tr>
          <th scope="col" className="py-1 pr-3 font-medium">#</th>
          <th scope="col" className="py-1 pr-3 font-medium">Your time{localZone ? ` (${localZone})` : ""}</th>
          <th scope="col" className="py-1 pr-3 font-medium">UTC</th>
          {zoned ? <th scope="col" className="py-1 pr-3 font-medium">{zoned}</th> : null}
          <th scope="col" className="py-1 font-medium">DST</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={r.iso} className="border-t border-zinc-100 dark:border-zinc-800" data-slot={r.iso}>
            <td className={`py-1 pr-3 tabular-nums ${mutedText}`}>{i + 1}</td>
            <td className="py-1 pr-3 tabular-nums">{hydrated ? wallIn(undefined, r.at) : "…"}</td>
            <td className="py-1 pr-3 font-mono text-xs tabular-nums">{r.iso.slice(0, 16).replace("T", " ")} UTC</td>
            {zoned ? <td className="py-1 pr-3 tabular-nums">{wallIn(zoned, r.at)}</td> : null}
            <td className="py-1 text-xs">{r.changes.length ? <span className="font-medium text-orange-700 dark:text-orange-300" data-testid="dst-change">DST change: {r.changes.join("; ")}</span> : null}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
