import type { Metadata } from "next";
import Link from "next/link";
import { ActionButton } from "@/components/action-button";
import { RunStatusBadge } from "@/components/badges";
import { Time } from "@/components/time";
import { Badge, DataTable, EmptyState, linkClass, mutedText, PageHeader, Stat } from "@/components/ui";
import { locks } from "@/lib/db/queries/leases";
import { statistics } from "@/lib/db/queries/statistics";
import { formatDuration, formatPercent } from "@/lib/format";
import { formatCount, formatExpiresIn, shortId } from "@/lib/dashboard/format";
import { requireDashboardSession } from "@/lib/dashboard/session";
import { getRuntime } from "@/lib/app/runtime";

export const metadata: Metadata = { title: "Locks" };

const td = "px-3 py-3 align-top";

/** Job leases held now: who holds them, since when, until when; stale ones can be cleared. */
export default async function LocksPage() {
  await requireDashboardSession("/dashboard/admin/locks");
  const { database } = await getRuntime();
  const [rows, stats] = await Promise.all([locks(database.db), statistics(database.db, { hours: 24 })]);
  // "Held now" counts the rows listed below, so the figure and the table always agree.
  const stale = rows.filter((l) => l.stale).length;

  return (
    <>
      <PageHeader
        title="Locks"
        description="A job holds its lease while a run works; heartbeats keep it alive. A STALE lease expired with no confirmed heartbeat (the holder crashed, froze or lost the database): the tick marks its run abandoned, or clear it here."
      />
      <section aria-labelledby="lock-stats-heading" className="flex flex-col gap-3">
        <h2 id="lock-stats-heading" className="text-lg font-semibold">
          Last 24 hours
        </h2>
        <dl className="grid grid-cols-2 gap-3 sm:grid-cols-3 xl:grid-cols-6">
          <Stat label="Held now" value={formatCount(rows.length)} hint={stale ? `${stale} stale` : "none stale"} />
          <Stat label="Acquired" value={formatCount(stats.locks.acquired)} hint="runs that took their claim" />
          <Stat label="Contended" value={formatCount(stats.locks.missed)} hint="triggers that found the lease or slot taken (skipped: already running, duplicate)" />
          <Stat label="Contention" value={formatPercent(stats.locks.contentionRate)} />
          <Stat label="Leases expired" value={formatCount(stats.locks.leasesExpired)} hint="runs abandoned" />
          <Stat label="Dead letters pending" value={formatCount(stats.deadLetters.pending)} />
        </dl>
      </section>

      <section aria-labelledby="leases-heading" className="flex flex-col gap-3">
        <h2 id="leases-heading" className="text-lg font-semibold">
          Leases {rows.length ? `(${rows.length}${stale ? `, ${stale} stale` : ""})` : ""}
        </h2>
        {rows.length === 0 ? (
          <EmptyState title="No job holds a lease">Leases exist only while a run works; nothing is running right now.</EmptyState>
        ) : (
          <DataTable label="Leases" caption="Job leases, oldest first" minWidthClass="min-w-[52rem]" columns={["Job", "Holder", "Run", "Acquired", "Expires", "State", "Action"]}>
            {rows.map((lock) => {
              const jobHref = `/dashboard/admin/cron-jobs/${encodeURIComponent(lock.jobName)}`;
              const path = `/api/admin/locks/${encodeURIComponent(lock.jobName)}`;
              return (
                <tr key={lock.jobName} data-lock={lock.jobName} className={lock.stale ? "bg-red-50/60 dark:bg-red-950/30" : undefined}>
                  <td className={td}>
                    <Link href={jobHref} className={`${linkClass} font-mono`}>
                      {lock.jobName}
                    </Link>
                  </td>
                  <td className={`${td} font-mono text-xs break-all`}>{lock.holder}</td>
                  <td className={td}>
                    <Link href={`${jobHref}?run=${lock.runId}`} className={`${linkClass} font-mono`} aria-label={`Run ${shortId(lock.runId)} holding ${lock.jobName}'s lease`}>
                      {shortId(lock.runId)}
                    </Link>
                    <span className="mt-1 block">{lock.run?.status ? <RunStatusBadge status={lock.run.status} /> : <span className={`text-xs ${mutedText}`}>run not found</span>}</span>
                    <span className={`block text-xs ${mutedText}`}>fencing token {lock.fencingToken}</span>
                  </td>
                  <td className={td}>
                    <Time iso={lock.acquiredAt} />
                    <span className={`block text-xs ${mutedText}`}>held {formatDuration(lock.heldSeconds * 1000)}</span>
                  </td>
                  <td className={td}>
                    <Time iso={lock.expiresAt} />
                    <span className={`block text-xs ${lock.stale ? "font-medium text-red-800 dark:text-red-300" : mutedText}`}>{formatExpiresIn(lock.expiresInSeconds)}</span>
                  </td>
                  <td className={td}>
                    {lock.stale ? (
                      <Badge tone="red" title="No confirmed heartbeat before the lease expired">
                        STALE
                      </Badge>
                    ) : (
                      <Badge tone="green">live</Badge>
                    )}
                  </td>
                  <td className={td}>
                    {lock.stale ? (
                      <ActionButton
                        label="Clear"
                        ariaLabel={`Clear ${lock.jobName}'s stale lease`}
                        method="DELETE"
                        path={path}
                        variant="danger"
                        confirm={`Clear ${lock.jobName}'s stale lease held by ${lock.holder}? Its run ${shortId(lock.runId)} is marked abandoned and the next trigger can run.`}
                        confirmLabel="Clear lease"
                      />
                    ) : (
                      <ActionButton
                        label="Force clear"
                        ariaLabel={`Force clear ${lock.jobName}'s live lease`}
                        method="DELETE"
                        path={`${path}?force=true`}
                        variant="secondary"
                        confirm={`${lock.jobName}'s lease is live: its run may still be working and a second run could then overlap it. Clear it anyway?`}
                        confirmLabel="Force clear"
                      />
                    )}
                  </td>
                </tr>
              );
            })}
          </DataTable>
        )}
      </section>
    </>
  );
}
