"use client";

import { Bar, CartesianGrid, ComposedChart, Legend, Line, Tooltip, XAxis, YAxis } from "recharts";
import type { TimelineBucket } from "@/lib/db/queries/runs";
import { formatDuration } from "@/lib/format";
import { useHydrated } from "./use-hydrated";

const HEIGHT = 288;

/**
 * An axis tick as one line of SVG text. Recharts' own tick breaks a label into lines to fit the
 * axis (so "1 min 11 s" stood on three lines and "Nov 24" on two); this one never wraps, and the
 * axes are wide enough for the longest label.
 */
function Tick({ x, y, payload, textAnchor, format, dy }: { x?: number; y?: number; payload?: { value: number }; textAnchor?: "start" | "middle" | "end"; format: (v: number) => string; dy: string }) {
  if (x === undefined || y === undefined || !payload) return null;
  return (
    <text x={x} y={y} dy={dy} textAnchor={textAnchor} fill="currentColor" fontSize={12}>
      {format(payload.value)}
    </text>
  );
}

/**
 * Runs per bucket (stacked successes and failures) with the average duration as a line on
 * its own axis. Rendered in the browser only: tick labels are in the viewer's timezone and
 * the chart measures its container.
 */
export function TimelineChart({ buckets, granularity }: { buckets: TimelineBucket[]; granularity: "hour" | "day" }) {
  const hydrated = useHydrated();
  const data = buckets.map((b) => ({ t: Date.parse(b.time_bucket), successes: b.successes, failures: b.failures, avg: b.avg_duration_ms }));
  const label = (t: number) =>
    new Date(t).toLocaleString(undefined, granularity === "hour" ? { hour: "2-digit", minute: "2-digit" } : { month: "short", day: "numeric", timeZone: "UTC" });
  const fullLabel = (t: number) =>
    granularity === "hour"
      ? `${new Date(t).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" })} (1 hour)`
      : `${new Date(t).toLocaleDateString(undefined, { dateStyle: "medium", timeZone: "UTC" })} (UTC day)`;

  if (!hydrated) return <div style={{ height: HEIGHT }} className="animate-pulse rounded-md bg-zinc-100 dark:bg-zinc-800" aria-hidden="true" />;

  return (
    <div className="text-zinc-700 dark:text-zinc-300" data-testid="timeline-chart">
      <ComposedChart responsive style={{ width: "100%", height: HEIGHT }} data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
        <CartesianGrid stroke="currentColor" strokeOpacity={0.15} vertical={false} />
        <XAxis dataKey="t" tick={<Tick format={label} dy="0.71em" />} stroke="currentColor" minTickGap={24} />
        <YAxis yAxisId="runs" allowDecimals={false} tick={<Tick format={String} dy="0.355em" />} stroke="currentColor" width={40} />
        <YAxis yAxisId="ms" orientation="right" tick={<Tick format={(v) => formatDuration(v)} dy="0.355em" />} stroke="currentColor" width={84} />
        <Tooltip
          labelFormatter={(t) => fullLabel(Number(t))}
          formatter={(value, name) => (name === "Average duration" ? formatDuration(Number(value)) : value)}
          contentStyle={{ background: "var(--background)", borderColor: "rgb(161 161 170 / 0.5)", color: "var(--foreground)", fontSize: 13 }}
        />
        <Legend wrapperStyle={{ fontSize: 13 }} />
        <Bar yAxisId="runs" dataKey="successes" name="Successes" stackId="runs" fill="#16a34a" isAnimationActive={false} />
        <Bar yAxisId="runs" dataKey="failures" name="Failures" stackId="runs" fill="#dc2626" isAnimationActive={false} />
        <Line yAxisId="ms" dataKey="avg" name="Average duration" type="monotone" stroke="#2563eb" strokeWidth={2} dot={{ r: 2 }} connectNulls isAnimationActive={false} />
      </ComposedChart>
    </div>
  );
}
