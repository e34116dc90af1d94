import { createRequire } from "node:module";
import { sql } from "drizzle-orm";
import { SKIP_REASONS } from "@/lib/cron/vocabulary";
import { queryRows, type Db } from "@/lib/db/client";

/**
 * What GET /api/metrics must say, computed the slow, exact way: plain aggregates over the raw
 * rows of cron_job_logs, cron_dead_letters, cron_job_leases, cron_job_config and cron_alerts
 * (no rollup, no histogram bucket maths), and the scrape read back with an independent parser
 * (parse-prometheus-text-format, a port of the Prometheus Python client's parser).
 */

interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  metrics: Array<{ labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string; sum?: string }>;
}
const parsePrometheusTextFormat = createRequire(import.meta.url)("parse-prometheus-text-format") as (text: string) => ParsedFamily[];

/** `name{a="1",b="2"}` with the labels sorted and `le` normalised as a number. */
export function sampleKey(name: string, labels: Record<string, string> = {}): string {
  const entries = Object.entries(labels)
    .map(([k, v]) => [k, k === "le" && v !== "+Inf" ? String(Number(v)) : v] as const)
    .sort(([a], [b]) => a.localeCompare(b));
  return entries.length ? `${name}{${entries.map(([k, v]) => `${k}="${v}"`).join(",")}}` : name;
}

export interface ParsedScrape {
  families: ParsedFamily[];
  /** Every sample by sampleKey, histograms flattened to _bucket{le}, _sum and _count. */
  samples: Map<string, number>;
  types: Map<string, string>;
}

/**
 * Parses an exposition with the real parser; throws on anything it rejects. The parser reads
 * every sample line (names, labels and their escapes, values) but folds a histogram family
 * into one label set (its flattenMetrics keeps only the last job's buckets), so the TYPE line of
 * each histogram is noted here and taken out: its _bucket, _sum and _count lines then parse as
 * plain samples, and the histogram's own rules (cumulative buckets, +Inf equal to _count) are
 * checked here.
 */
export function parseScrape(text: string): ParsedScrape {
  const histograms = new Set([...text.matchAll(/^# TYPE (\S+) histogram$/gm)].map((m) => m[1]));
  const families = parsePrometheusTextFormat(text.replace(/^# TYPE \S+ histogram\n/gm, ""));
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  const put = (key: string, value: string | undefined) => {
    if (samples.has(key)) throw new Error(`sample ${key} appears twice`);
    samples.set(key, value === "+Inf" ? Infinity : value === "-Inf" ? -Infinity : Number(value));
  };
  for (const h of histograms) types.set(h, "histogram");
  for (const f of families) {
    const histogram = [...histograms].find((h) => f.name === h || [`${h}_bucket`, `${h}_sum`, `${h}_count`].includes(f.name));
    if (!histogram) types.set(f.name, f.type.toLowerCase());
    else if (f.name === histogram) continue; // its HELP line alone
    for (const m of f.metrics) put(sampleKey(f.name, m.labels ?? {}), m.value);
  }
  for (const h of histograms) {
    const series = new Map<string, Array<[number, number]>>();
    for (const [key, value] of samples) {
      if (!key.startsWith(`${h}_bucket{`)) continue;
      const le = /le="([^"]+)"/.exec(key)![1];
      const rest = key.replace(/,?le="[^"]+"/, "").replace("{,", "{").replace(`${h}_bucket`, "");
      series.set(rest, [...(series.get(rest) ?? []), [le === "+Inf" ? Infinity : Number(le), value]]);
    }
    for (const [labels, buckets] of series) {
      buckets.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < buckets.length; i++) if (buckets[i][1] < buckets[i - 1][1]) throw new Error(`${h}${labels}: bucket le=${buckets[i][0]} is below le=${buckets[i - 1][0]}`);
      const count = samples.get(`${h}_count${labels === "{}" ? "" : labels}`);
      if (buckets.at(-1)?.[0] !== Infinity || buckets.at(-1)?.[1] !== count) throw new Error(`${h}${labels}: +Inf bucket must equal _count (${count})`);
    }
  }
  return { families, samples, types };
}

const FINAL = ["completed", "failed", "timed_out", "abandoned", "missed"];
// Every skip reason the vocabulary names has its series (zero when none happened); the values below are counted independently.
const SKIPS = Object.keys(SKIP_REASONS);
const LOSERS = ["already_running", "duplicate"];
const IN_PROGRESS = ["started", "queued", "retry_scheduled"];
const CHANNELS = ["slack", "email", "webhook", "sentry"];
const OUTCOMES = ["sent", "failed", "suppressed"];
/** Upper bounds of the duration histogram in ms: (2^k - 1) for k = 0..20. */
const BOUNDS_MS = Array.from({ length: 21 }, (_, k) => 2 ** k - 1);

const n = (v: unknown) => Number(v ?? 0);
const epoch = (v: unknown) => (v instanceof Date ? v.getTime() : Date.parse(String(v))) / 1000;

/**
 * The samples the scrape must hold at `now` for `jobs` (and the system figures), from exact
 * aggregates. `tickLate` and the tick's interval are the caller's: they depend on the plan.
 */
export async function expectedSamples(db: Db, opts: { jobs: string[]; now: Date; windowHours: number; tick: { expectedEverySeconds: number; late: boolean } }): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const now = opts.now.toISOString();
  for (const job of opts.jobs) {
    const byStatus = await queryRows<{ status: string; n: number }>(db, sql`SELECT status, count(*)::int AS n FROM cron_job_logs WHERE job_name = ${job} GROUP BY status`);
    const count = (status: string) => n(byStatus.find((r) => r.status === status)?.n);
    for (const status of FINAL) out.set(sampleKey("crondeck_runs_total", { job, status }), count(status));
    for (const status of IN_PROGRESS) out.set(sampleKey("crondeck_runs_in_progress", { job, status }), count(status));

    const durations = (await queryRows<{ d: number }>(db, sql`SELECT duration_ms AS d FROM cron_job_logs WHERE job_name = ${job} AND status IN ('completed', 'failed', 'timed_out') AND duration_ms IS NOT NULL`)).map((r) => n(r.d));
    for (const bound of BOUNDS_MS) out.set(sampleKey("crondeck_run_duration_seconds_bucket", { job, le: String(bound / 1000) }), durations.filter((d) => d <= bound).length);
    out.set(sampleKey("crondeck_run_duration_seconds_bucket", { job, le: "+Inf" }), durations.length);
    out.set(sampleKey("crondeck_run_duration_seconds_count", { job }), durations.length);
    out.set(sampleKey("crondeck_run_duration_seconds_sum", { job }), durations.reduce((a, b) => a + b, 0) / 1000);

    const recent = await queryRows<{ trigger: string; status: string; skip_reason: string | null; n: number }>(
      db,
      sql`SELECT trigger, status, skip_reason, count(*)::int AS n FROM cron_job_logs
           WHERE job_name = ${job} AND started_at > ${now}::timestamptz - make_interval(hours => ${opts.windowHours}::int) AND started_at <= ${now}::timestamptz
           GROUP BY 1, 2, 3`,
    );
    const perTriggerStatus = new Map<string, number>();
    for (const r of recent) {
      const key = sampleKey("crondeck_runs_last_24h", { job, trigger: r.trigger, status: r.status });
      perTriggerStatus.set(key, (perTriggerStatus.get(key) ?? 0) + n(r.n));
    }
    for (const [k, v] of perTriggerStatus) out.set(k, v);
    const skipped = (reason: string) => recent.filter((r) => r.status === "skipped" && r.skip_reason === reason).reduce((a, r) => a + n(r.n), 0);
    for (const reason of SKIPS) out.set(sampleKey("crondeck_skips_last_24h", { job, reason }), skipped(reason));
    for (const reason of LOSERS) out.set(sampleKey("crondeck_claim_losers_last_24h", { job, reason }), skipped(reason));
    out.set(sampleKey("crondeck_claims_last_24h", { job }), recent.filter((r) => r.status !== "missed").reduce((a, r) => a + n(r.n), 0));

    const [last] = await queryRows<{ ok: unknown; ran: unknown }>(
      db,
      sql`SELECT (SELECT completed_at FROM cron_job_logs WHERE job_name = ${job} AND status = 'completed' ORDER BY started_at DESC LIMIT 1) AS ok,
                 (SELECT max(started_at) FROM cron_job_logs WHERE job_name = ${job} AND status NOT IN ('skipped', 'missed', 'queued')) AS ran`,
    );
    if (last.ok) out.set(sampleKey("crondeck_last_success_timestamp_seconds", { job }), epoch(last.ok));
    if (last.ran) out.set(sampleKey("crondeck_last_run_timestamp_seconds", { job }), epoch(last.ran));
    const [state] = await queryRows<{ failures: number | null; dead: number; held: number }>(
      db,
      sql`SELECT (SELECT consecutive_failures FROM cron_job_config WHERE job_name = ${job}) AS failures,
                 (SELECT count(*)::int FROM cron_dead_letters WHERE job_name = ${job} AND recovery_status = 'pending') AS dead,
                 (SELECT count(*)::int FROM cron_job_leases WHERE job_name = ${job} AND expires_at > ${now}::timestamptz) AS held`,
    );
    out.set(sampleKey("crondeck_consecutive_failures", { job }), n(state.failures));
    out.set(sampleKey("crondeck_dead_letters_pending", { job }), n(state.dead));
    out.set(sampleKey("crondeck_lease_held", { job }), n(state.held));
  }

  const alerts = await queryRows<{ channel: string; status: string; n: number }>(db, sql`SELECT channel, status, count(*)::int AS n FROM cron_alerts GROUP BY 1, 2`);
  for (const channel of CHANNELS) for (const status of OUTCOMES) out.set(sampleKey("crondeck_alerts_total", { channel, status }), 0);
  for (const a of alerts) out.set(sampleKey("crondeck_alerts_total", { channel: a.channel, status: a.status }), n(a.n));

  const [tick] = await queryRows<{ started_at: unknown }>(db, sql`SELECT max(started_at) AS started_at FROM cron_job_logs WHERE job_name = 'crondeck-tick' AND status <> 'skipped'`);
  if (tick.started_at) {
    out.set(sampleKey("crondeck_tick_last_run_timestamp_seconds"), epoch(tick.started_at));
    out.set(sampleKey("crondeck_tick_lag_seconds"), Math.max(0, opts.now.getTime() / 1000 - epoch(tick.started_at)));
  }
  out.set(sampleKey("crondeck_tick_expected_interval_seconds"), opts.tick.expectedEverySeconds);
  out.set(sampleKey("crondeck_tick_late"), opts.tick.late ? 1 : 0);
  return out;
}

/** Differences between a scrape and the expected samples (the query timing is the only sample left out). */
export function compareSamples(actual: Map<string, number>, expected: Map<string, number>, opts: { ignore?: string[]; tolerance?: Record<string, number> } = {}): string[] {
  const ignored = new Set(["crondeck_metrics_query_seconds", ...(opts.ignore ?? [])]);
  const problems: string[] = [];
  for (const [key, want] of expected) {
    const name = key.split("{")[0];
    if (ignored.has(name)) continue;
    const got = actual.get(key);
    const tolerance = opts.tolerance?.[name] ?? 1e-9;
    if (got === undefined) problems.push(`missing ${key} (expected ${want})`);
    else if (Math.abs(got - want) > tolerance) problems.push(`${key}: got ${got}, expected ${want}`);
  }
  for (const key of actual.keys()) if (!expected.has(key) && !ignored.has(key.split("{")[0])) problems.push(`unexpected ${key} = ${actual.get(key)}`);
  return problems;
}
