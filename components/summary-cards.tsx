import Link from "next/link";
import type { DashboardSummary } from "@/lib/db/queries/jobs";
import { formatCount } from "@/lib/dashboard/format";
import { SuccessRate } from "./badges";
import { Stat, linkClass } from "./ui";

const OVERVIEW = "/dashboard/admin/cron-jobs";

/** A count that links to the view listing what it counts, when there is anything to list. */
function Counted({ n, href, label }: { n: number; href: string; label: string }) {
  if (n === 0) return <>{formatCount(n)}</>;
  return (
    // Not prefetched: a card's count is read at a glance, and the overview's own URL with a filter is no page to preload.
    <Link href={href} prefetch={false} className={linkClass} aria-label={`${formatCount(n)} ${label}: show them`}>
      {formatCount(n)}
    </Link>
  );
}

/**
 * The overview's summary cards. What needs an operator comes first (failing jobs, stale runs,
 * pending dead letters); each job is counted in its one state (on schedule, paused,
 * dead-lettered, disabled); executions, failures and the rate cover the last `days` days.
 */
export function SummaryCards({ summary, days }: { summary: DashboardSummary; days: number }) {
  return (
    <section aria-label="Summary">
      <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4 xl:grid-cols-8">
        <Stat label="Jobs" value={formatCount(summary.totalJobs)} hint="registered" />
        <Stat label="Failing" value={<Counted n={summary.failingJobs} href={`${OVERVIEW}?state=failing`} label="failing jobs" />} hint="latest slot did not succeed" />
        <Stat
          label="Running"
          value={formatCount(summary.runningJobs)}
          hint={
            summary.staleRuns ? (
              <>
                <Counted n={summary.staleRuns} href={`${OVERVIEW}?state=stale`} label="stale runs" /> stale
              </>
            ) : (
              "runs in progress"
            )
          }
        />
        <Stat label="Dead letters" value={<Counted n={summary.pendingDeadLetters} href="/dashboard/admin/dead-letters" label="pending dead letters" />} hint="pending" />
        <Stat label="On schedule" value={formatCount(summary.enabledJobs)} hint="enabled, not paused" />
        <Stat
          label="Paused"
          value={formatCount(summary.pausedJobs + summary.deadLetteredJobs)}
          hint={summary.deadLetteredJobs ? `${formatCount(summary.deadLetteredJobs)} by dead letters` : "resume to run"}
        />
        <Stat label="Disabled" value={formatCount(summary.disabledJobs)} hint="enable to run" />
        <Stat
          label="Success rate"
          value={<SuccessRate rate={summary.overallSuccessRate} />}
          hint={`${formatCount(summary.totalExecutions)} runs, ${formatCount(summary.totalFailures)} failed, last ${days} days`}
        />
      </dl>
    </section>
  );
}
