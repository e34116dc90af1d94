/**
 * The Prometheus text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format): one
 * `# HELP` and `# TYPE` line per family, then its samples, `name{label="value",...} value`.
 * Written here rather than through prom-client, whose histograms can only observe() values in
 * this process: Crondeck's figures are read from the database (many serverless instances
 * share it), histogram buckets included.
 */

export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type MetricType = "counter" | "gauge" | "histogram";

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  /** Appended to the family's name: "" for counters and gauges; "_bucket", "_sum", "_count" for histograms. */
  suffix?: "" | "_bucket" | "_sum" | "_count";
  labels: Labels;
  value: number;
}

export interface MetricFamily {
  /** [a-zA-Z_:][a-zA-Z0-9_:]*; counters end in _total, units are base units (_seconds). */
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

/** One histogram's buckets as Prometheus wants them: cumulative counts per upper bound (`le`, inclusive). */
export interface HistogramValue {
  /** Upper bounds in ascending order, without +Inf. */
  bounds: readonly number[];
  /** cumulative[i]: observations <= bounds[i]. */
  cumulative: readonly number[];
  count: number;
  sum: number;
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A sample value: integers as such, +Inf/-Inf/NaN as the format spells them, others in JavaScript's shortest round-trip form. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** Label values escape backslash, double quote and line feed. */
export const escapeLabelValue = (value: string): string => value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
/** HELP text escapes backslash and line feed. */
const escapeHelp = (text: string): string => text.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));

function labelsText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries
    .map(([k, v]) => {
      if (!LABEL_RE.test(k) || k.startsWith("__")) throw new Error(`invalid Prometheus label name "${k}"`);
      return `${k}="${escapeLabelValue(v)}"`;
    })
    .join(",")}}`;
}

/** The samples of one histogram (buckets with le, +Inf, _sum, _count), under `labels`. */
export function histogramSamples(labels: Labels, h: HistogramValue): Sample[] {
  const samples: Sample[] = h.bounds.map((le, i) => ({ suffix: "_bucket", labels: { ...labels, le: formatValue(le) }, value: h.cumulative[i] }));
  samples.push({ suffix: "_bucket", labels: { ...labels, le: "+Inf" }, value: h.count });
  samples.push({ suffix: "_sum", labels, value: h.sum }, { suffix: "_count", labels, value: h.count });
  return samples;
}

/** The families as one exposition text, each family once, ending with a line feed. */
export function exposition(families: readonly MetricFamily[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const family of families) {
    if (!NAME_RE.test(family.name)) throw new Error(`invalid Prometheus metric name "${family.name}"`);
    if (seen.has(family.name)) throw new Error(`metric family "${family.name}" written twice`);
    seen.add(family.name);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    const series = new Set<string>();
    for (const s of family.samples) {
      const line = `${family.name}${s.suffix ?? ""}${labelsText(s.labels)}`;
      // A series twice would be read as one (or refused) by a scraper: a bug upstream, not data.
      if (series.has(line)) throw new Error(`metric series ${line} written twice`);
      series.add(line);
      lines.push(`${line} ${formatValue(s.value)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
