import type { Metadata } from "next";
import Link from "next/link";
import { RunStatusBadge } from "@/components/badges";
import { Time } from "@/components/time";
import { Badge, cellClass, DataTable, EmptyState, linkClass, mutedText, PageHeader, Stat } from "@/components/ui";
import { getRuntime } from "@/lib/app/runtime";
import { tickOverview } from "@/lib/app/tick-watch";
import { systemClock } from "@/lib/cron/clock";
import type { TickRun } from "@/lib/db/queries/tick-health";
import { formatCount, shortId } from "@/lib/dashboard/format";
import { param, queryString, type SearchParams } from "@/lib/dashboard/params";
import { requireDashboardSession } from "@/lib/dashboard/session";
import { formatDuration } from "@/lib/format";

export const metadata: Metadata = { title: "Tick" };

const PAGE_SIZE = 50;

const count = (n: number | undefined, what: string) => (n ? <span className="font-medium">{`${n} ${what}`}</span> : <span className={mutedText}>{`0 ${what}`}</span>);

/** What one tick run did, in full (each list capped by the query): abandoned runs, retries, missed slots, dispatches, errors. */
function ReportDetails({ run }: { run: TickRun }) {
  const r = run.report;
  if (!r) return <span className={mutedText}>no report</span>;
  const empty = !r.abandoned.length && !r.retries.length && !r.orphaned.length && !r.missed.length && !r.dispatched.length && !r.errors.length;
  if (empty) return <span className={mutedText}>nothing to do</span>;
  const item = "font-mono text-xs break-all";
  return (
    <details>
      <summary className={`cursor-pointer text-sm ${linkClass}`}>What it did</summary>
      <ul className="mt-2 flex flex-col gap-1">
        {r.errors.map((e, i) => (
          <li key={`e${i}`} className={`${item} text-red-800 dark:text-red-300`}>
            error in {e.scope}: {e.error}
          </li>
        ))}
        {r.abandoned.map((a) => (
          <li key={`a${a.runId}`} className={item}>
            abandoned {a.jobName} run {a.runId ? shortId(a.runId) : "?"} held by {a.holder ?? "?"}
            {a.heldForSeconds != null ? ` for ${formatDuration(a.heldForSeconds * 1000)}` : ""}
          </li>
        ))}
        {r.retries.map((d, i) => (
          <li key={`r${i}`} className={item}>
            retry {d.jobName} {d.runId ? shortId(d.runId) : ""}: {d.status ?? "no answer"}
            {d.error ? ` (${d.error})` : ""}
          </li>
        ))}
        {r.orphaned.map((o, i) => (
          <li key={`o${i}`} className={item}>
            settled retry of {o.jobName} (no longer in the registry){o.error ? `: ${o.error}` : ""}
          </li>
        ))}
        {r.missed.map((m, i) => (
          <li key={`m${i}`} className={item}>
            missed {m.jobName}: {m.slots} slot(s){m.lastSlot ? `, last ${m.lastSlot}` : ""}, policy {m.policy ?? "?"}, {m.catchUps} catch-up(s)
          </li>
        ))}
        {r.dispatched.map((d, i) => (
          <li key={`d${i}`} className={item}>
            dispatched {d.jobName} ({d.trigger ?? "?"}{d.slot ? ` ${d.slot}` : ""}): {d.status ?? "no answer"}
            {d.error ? ` (${d.error})` : ""}
          </li>
        ))}
      </ul>
    </details>
  );
}

/** The tick's own health and its recent runs (the recovery runs): what each swept, retried, recorded missed and dispatched. */
export default async function TickPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  const sp = await searchParams;
  const beforeParam = param(sp, "before", 40);
  const before = beforeParam && !Number.isNaN(Date.parse(beforeParam)) ? new Date(beforeParam) : null;
  await requireDashboardSession(`/dashboard/admin/tick${queryString({ before: before?.toISOString() ?? null })}`);

  const runtime = await getRuntime();
  const now = new Date((runtime.engine.clock ?? systemClock).now());
  const { health, runs } = await tickOverview({ db: runtime.database.db, env: runtime.env, notify: runtime.observers.notify, now }, { limit: PAGE_SIZE, before });
  const last = health.lastRun;
  const incident = health.incident;
  const state = health.late ? (
    <Badge tone="red">{last ? "LATE" : "NEVER RAN"}</Badge>
  ) : last ? (
    <Badge tone="green">on time</Badge>
  ) : (
    <Badge tone="zinc">not run yet</Badge>
  );

  return (
    <>
      <PageHeader
        title="Tick"
        description={`The tick (/api/cron/tick, every ${formatDuration(health.expectedEveryMs)} on the ${runtime.env.CRON_PLAN} plan) sweeps abandoned runs, starts due retries, records missed slots and dispatches timezone jobs. It is late once ${formatDuration(health.lateAfterMs)} pass without a run; then it is alerted (tick_late) and, with TICK_HEARTBEAT_URL, the outside monitor stops getting pings.`}
      />
      <section aria-labelledby="tick-health-heading" className="flex flex-col gap-3">
        <h2 id="tick-health-heading" className="text-lg font-semibold">
          Health
        </h2>
        <dl className="grid grid-cols-2 gap-3 sm:grid-cols-3 xl:grid-cols-6">
          <Stat label="State" value={state} hint={incident ? <>late since <Time iso={incident.openedAt} /></> : undefined} />
          <Stat label="Last run" value={last ? <Time iso={last.startedAt} /> : "never"} hint={health.lagMs != null ? `${formatDuration(health.lagMs)} ago` : undefined} />
          <Stat label="Expected every" value={formatDuration(health.expectedEveryMs)} hint={`late after ${formatDuration(health.lateAfterMs)}`} />
          <Stat label="Runs, 24 h" value={formatCount(health.runs24h)} />
          <Stat label="With errors, 24 h" value={formatCount(health.runsWithErrors24h)} />
          <Stat
            label="Last run did"
            value={last?.work ? `${last.work.dispatched} dispatched` : "—"}
            hint={last?.work ? `${last.work.abandoned} abandoned · ${last.work.retries} retries · ${last.work.missed} missed · ${last.work.errors} errors` : undefined}
          />
        </dl>
      </section>

      <section aria-labelledby="tick-runs-heading" className="flex flex-col gap-3">
        <h2 id="tick-runs-heading" className="text-lg font-semibold">
          Recent runs {before ? <span className={`text-sm font-normal ${mutedText}`}>before <Time iso={before.toISOString()} /></span> : null}
        </h2>
        {runs.length === 0 ? (
          <EmptyState title="No tick runs logged">Nothing has called /api/cron/tick{before ? " before this time" : ""}. Add it to vercel.json with npm run cron:sync, or call it from your scheduler every minute.</EmptyState>
        ) : (
          <DataTable label="Tick runs" caption="The tick's runs, newest first" minWidthClass="min-w-[56rem]" columns={["Started", "Run", "Status", "Duration", "Work", "Details"]}>
            {runs.map((run) => (
              <tr key={run.id} data-tick-run={run.id} className={run.work?.errors ? "bg-red-50/60 dark:bg-red-950/30" : undefined}>
                <td className={cellClass}>
                  <Time iso={run.startedAt} />
                </td>
                <td className={`${cellClass} font-mono text-xs`} title={run.id}>
                  {shortId(run.id)}
                  {run.holder ? <span className={`block ${mutedText}`}>{run.holder}</span> : null}
                </td>
                <td className={cellClass}>
                  <RunStatusBadge status={run.status} />
                </td>
                <td className={`${cellClass} tabular-nums`}>{formatDuration(run.durationMs)}</td>
                <td className={`${cellClass} text-xs`}>
                  <span className="flex flex-wrap gap-x-2">
                    {count(run.work?.abandoned, "abandoned")}
                    {count(run.work?.retries, "retries")}
                    {count(run.work?.missed, "missed")}
                    {count(run.work?.dispatched, "dispatched")}
                    {run.work?.errors ? <span className="font-medium text-red-800 dark:text-red-300">{`${run.work.errors} errors`}</span> : count(0, "errors")}
                  </span>
                </td>
                <td className={cellClass}>
                  <ReportDetails run={run} />
                </td>
              </tr>
            ))}
          </DataTable>
        )}
        {runs.length === PAGE_SIZE ? (
          <Link href={`/dashboard/admin/tick${queryString({ before: runs[runs.length - 1].startedAt })}`} className={linkClass}>
            Older runs
          </Link>
        ) : null}
      </section>
    </>
  );
}
