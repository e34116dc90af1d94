import { formatPercent } from "@/lib/format";
import { deadLetterStatusMeta, jobStateMeta, priorityTone, runStatusMeta, successRateLevel } from "@/lib/dashboard/format";
import { Time } from "./time";
import { Badge } from "./ui";

export function RunStatusBadge({ status, skipReason }: { status: string; skipReason?: string | null }) {
  const { label, tone } = runStatusMeta(status, skipReason);
  return <Badge tone={tone}>{label}</Badge>;
}

export function JobStateBadge({ state }: { state: string }) {
  const { label, tone } = jobStateMeta(state);
  return <Badge tone={tone}>{label}</Badge>;
}

/** A snoozed job (a maintenance window): on schedule again by itself at `until`; not disabled, not failing. */
export function SnoozedBadge({ until, by, reason }: { until: string; by?: string | null; reason?: string | null }) {
  return (
    <Badge tone="blue" title={`Snoozed until ${until}${by ? ` by ${by}` : ""}${reason ? `: ${reason}` : ""}`}>
      snoozed until <Time iso={until} />
    </Badge>
  );
}

export function CategoryBadge({ category }: { category: string }) {
  return <Badge tone="purple">{category}</Badge>;
}

export function DeadLetterStatusBadge({ status }: { status: string }) {
  const { label, tone } = deadLetterStatusMeta(status);
  return <Badge tone={tone}>{label}</Badge>;
}

export function PriorityBadge({ priority }: { priority: string }) {
  return <Badge tone={priorityTone(priority)}>{priority} priority</Badge>;
}

const DOT = { good: "bg-green-600", warn: "bg-yellow-500", bad: "bg-red-600", none: "bg-zinc-400" } as const;
const TONE = { good: "green", warn: "yellow", bad: "red", none: "zinc" } as const;

/**
 * Success rate with its level in words: green 95%+, yellow 80-95%, red below 80%. A failing job
 * (its latest slot did not succeed) is never shown healthy, whatever its rate over the window.
 */
export function SuccessRate({ rate, runs, failing = false }: { rate: number | null; runs?: number; failing?: boolean }) {
  const { level, label } = failing ? { level: "bad" as const, label: "latest failed" } : successRateLevel(rate);
  return (
    <span className="inline-flex flex-col items-start gap-0.5">
      <Badge tone={TONE[level]} title={runs != null ? `${runs} finished run(s) in the window` : undefined}>
        <span aria-hidden="true" className={`inline-block size-2 rounded-full ${DOT[level]}`} />
        <span className="tabular-nums">{formatPercent(rate)}</span>
        <span>{label}</span>
      </Badge>
      {runs != null ? <span className="text-xs text-zinc-600 tabular-nums dark:text-zinc-400">{runs} run{runs === 1 ? "" : "s"}</span> : null}
    </span>
  );
}
