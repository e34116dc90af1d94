import type { DashboardSummary } from "@/lib/db/queries/jobs";
import { formatCount } from "@/lib/dashboard/format";
import { SuccessRate } from "./badges";
import { Stat } from "./ui";

/** The overview's summary cards; executions and failures cover the last `days` days. */
export function SummaryCards({ summary, days }: { summary: DashboardSummary; days: number }) {
  const offSchedule = [summary.pausedJobs ? `${summary.pausedJobs} paused` : null, summary.deadLetteredJobs ? `${summary.deadLetteredJobs} dead-lettered` : null]
    .filter(Boolean)
    .join(", ");
  return (
    <section aria-label="Summary">
      <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4 xl:grid-cols-7">
        <Stat label="Jobs" value={formatCount(summary.totalJobs)} />
        <Stat label="Enabled" value={formatCount(summary.enabledJobs)} hint="running on schedule" />
        <Stat label="Disabled" value={formatCount(summary.disabledJobs)} hint={offSchedule || "off schedule"} />
        <Stat label="Running" value={formatCount(summary.runningJobs)} hint="runs in progress" />
        <Stat label="Executions" value={formatCount(summary.totalExecutions)} hint={`finished, last ${days} days`} />
        <Stat label="Failures" value={formatCount(summary.totalFailures)} hint={`last ${days} days`} />
        <Stat label="Success rate" value={<SuccessRate rate={summary.overallSuccessRate} />} hint={`last ${days} days`} />
      </dl>
    </section>
  );
}
