import Link from "next/link";
import type { DeadLetterInsight } from "@/lib/db/queries/dead-letter-insight";
import { formatCount } from "@/lib/dashboard/format";
import { queryString } from "@/lib/dashboard/params";
import { formatDuration } from "@/lib/format";
import { Card, cellClass, DataTable, focusRing, linkClass, mutedText, Stat } from "./ui";

/** The windows the page offers (the API and the CLI take any number of days up to a year). */
export const INSIGHT_WINDOWS = [7, 30, 90] as const;

/**
 * Seed 000's DLQ dashboard above the dead-letter list: entries per day, the most common failure
 * reasons (grouped by their fingerprint: numbers, ids and quoted values left out), and the time
 * from dead letter to recovery, per job and overall. A server component: it renders the query's
 * result as it is, with no script.
 */
export function DeadLetterInsightSection({ insight, keep }: { insight: DeadLetterInsight; keep: Record<string, string | number | null> }) {
  const { totals, perDay, topReasons, perJob, window } = insight;
  const peak = Math.max(1, ...perDay.map((d) => d.entries));
  const dayLabel = (day: string) => new Date(`${day}T00:00:00Z`).toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
  return (
    <section aria-labelledby="dlq-insight-title" className="flex flex-col gap-4" data-testid="dead-letter-insight">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h2 id="dlq-insight-title" className="text-lg font-semibold">
          Insight{window.jobName ? <span className="font-mono"> · {window.jobName}</span> : null}
        </h2>
        <nav aria-label="Insight window" className="flex gap-2 text-sm">
          {INSIGHT_WINDOWS.map((days) => (
            <Link
              key={days}
              href={`/dashboard/admin/dead-letters${queryString({ ...keep, days: days === 30 ? null : days })}`}
              aria-current={days === window.days ? "page" : undefined}
              className={`rounded-full px-2.5 py-0.5 ring-1 ring-inset ${focusRing} ${days === window.days ? "bg-zinc-900 text-white ring-zinc-900 dark:bg-zinc-100 dark:text-zinc-900" : "ring-zinc-300 dark:ring-zinc-700"}`}
            >
              {days} days
            </Link>
          ))}
        </nav>
      </div>
      <dl className="grid grid-cols-2 gap-3 lg:grid-cols-4">
        <Stat label={`Entries (${window.days} d)`} value={formatCount(totals.entries)} hint={`${(totals.entries / window.days).toFixed(1)} a day`} />
        <Stat label="Still pending" value={formatCount(totals.pending)} hint={`of those dead-lettered in the window`} />
        <Stat label="Recovered" value={formatCount(totals.recovered)} hint={`${formatCount(totals.permanentlyFailed)} settled as permanently failed`} />
        <Stat label="Avg time to recovery" value={formatDuration(totals.avgRecoveryMs)} hint={`to any settlement ${formatDuration(totals.avgSettleMs)}`} />
      </dl>

      <Card className="flex flex-col gap-2">
        <h3 className="text-sm font-semibold">Entries per day (UTC)</h3>
        <ol className="flex h-24 items-end gap-px" aria-label={`Dead-letter entries per day, last ${window.days} days`}>
          {perDay.map((d) => (
            <li
              key={d.day}
              className="min-w-0 flex-1 rounded-t-sm bg-red-500/80 dark:bg-red-400/80"
              style={{ height: `${d.entries === 0 ? 2 : Math.max(6, (d.entries / peak) * 100)}%`, opacity: d.entries === 0 ? 0.25 : 1 }}
              title={`${dayLabel(d.day)}: ${d.entries}`}
              aria-label={`${dayLabel(d.day)}: ${d.entries} ${d.entries === 1 ? "entry" : "entries"}`}
            />
          ))}
        </ol>
        <p className={`flex justify-between text-xs ${mutedText}`}>
          <span>{dayLabel(perDay[0]?.day ?? window.since.slice(0, 10))}</span>
          <span>peak {peak === 1 && totals.entries === 0 ? 0 : peak} a day</span>
          <span>{dayLabel(perDay[perDay.length - 1]?.day ?? window.until.slice(0, 10))}</span>
        </p>
      </Card>

      {topReasons.length > 0 ? (
        <DataTable label="Most common failure reasons" caption="Failure reasons grouped by fingerprint, most entries first" columns={["Reason", "Entries", "Pending", "Jobs", "Example"]} minWidthClass="min-w-[48rem]">
          {topReasons.map((r) => (
            <tr key={r.fingerprint} data-fingerprint={r.fingerprint}>
              <td className={`${cellClass} font-mono text-xs break-words`}>{r.fingerprint || "(empty)"}</td>
              <td className={`${cellClass} tabular-nums`}>{formatCount(r.entries)}</td>
              <td className={`${cellClass} tabular-nums`}>{formatCount(r.pending)}</td>
              <td className={cellClass}>
                {r.jobs.map((job, i) => (
                  <span key={job}>
                    {i > 0 ? ", " : null}
                    <Link href={`/dashboard/admin/dead-letters${queryString({ ...keep, job })}`} className={`${linkClass} font-mono`}>
                      {job}
                    </Link>
                  </span>
                ))}
              </td>
              <td className={`${cellClass} text-xs break-words ${mutedText}`}>{r.example}</td>
            </tr>
          ))}
        </DataTable>
      ) : null}

      {perJob.length > 1 ? (
        <DataTable label="Dead letters per job" caption="Dead-letter entries and recovery time per job" columns={["Job", "Entries", "Pending", "Recovered", "Avg time to recovery"]} minWidthClass="min-w-[36rem]">
          {perJob.map((j) => (
            <tr key={j.jobName}>
              <td className={`${cellClass} font-mono`}>
                <Link href={`/dashboard/admin/dead-letters${queryString({ ...keep, job: j.jobName })}`} className={linkClass}>
                  {j.jobName}
                </Link>
              </td>
              <td className={`${cellClass} tabular-nums`}>{formatCount(j.entries)}</td>
              <td className={`${cellClass} tabular-nums`}>{formatCount(j.pending)}</td>
              <td className={`${cellClass} tabular-nums`}>{formatCount(j.recovered)}</td>
              <td className={`${cellClass} tabular-nums`}>{formatDuration(j.avgRecoveryMs)}</td>
            </tr>
          ))}
        </DataTable>
      ) : null}
    </section>
  );
}
