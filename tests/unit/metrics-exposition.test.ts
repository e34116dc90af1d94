import { describe, expect, it } from "vitest";
import { durationBucketIndex } from "@/lib/db/queries/rollups";
import { cumulativeAtBounds, DURATION_BOUNDS_MS } from "@/lib/metrics/crondeck";
import { exposition, formatValue, histogramSamples, type MetricFamily } from "@/lib/metrics/exposition";
import { parseScrape, sampleKey } from "../support/metrics-oracle";

describe("the Prometheus text format", () => {
  it("escapes label values so a real parser reads them back unchanged", () => {
    const nasty = ['back\\slash', 'quote"d', "line\nfeed", "ünïcödé ✓", "{braces}=,", ""];
    const families: MetricFamily[] = [{ name: "crondeck_test", type: "gauge", help: "help with \\ and\nnewline", samples: nasty.map((job, i) => ({ labels: { job }, value: i })) }];
    const { samples } = parseScrape(exposition(families));
    nasty.forEach((job, i) => expect(samples.get(sampleKey("crondeck_test", { job })), JSON.stringify(job)).toBe(i));
  });

  it("writes +Inf, -Inf, NaN and numbers as the format spells them", () => {
    expect([Infinity, -Infinity, NaN, 0, 1.5, 1e21, 0.001].map(formatValue)).toEqual(["+Inf", "-Inf", "NaN", "0", "1.5", "1e+21", "0.001"]);
    const { samples } = parseScrape(exposition([{ name: "x", type: "gauge", help: "h", samples: [{ labels: { a: "1" }, value: Infinity }, { labels: { a: "2" }, value: 1e21 }] }]));
    expect(samples.get('x{a="1"}')).toBe(Infinity);
    expect(samples.get('x{a="2"}')).toBe(1e21);
  });

  it("refuses what a scraper would misread: bad names, reserved labels, a family or a series twice", () => {
    const g = (name: string, labels: Record<string, string>[] = [{}]): MetricFamily => ({ name, type: "gauge", help: "h", samples: labels.map((l) => ({ labels: l, value: 1 })) });
    expect(() => exposition([g("1bad")])).toThrow(/metric name/);
    expect(() => exposition([g("crondeck-x")])).toThrow(/metric name/);
    expect(() => exposition([g("ok", [{ "bad-label": "x" }])])).toThrow(/label name/);
    expect(() => exposition([g("ok", [{ __name__: "x" }])])).toThrow(/label name/);
    expect(() => exposition([g("ok"), g("ok")])).toThrow(/twice/);
    expect(() => exposition([g("ok", [{ job: "a" }, { job: "a" }])])).toThrow(/twice/);
  });

  it("writes a histogram's buckets with le, +Inf, _sum and _count", () => {
    const text = exposition([{ name: "h_seconds", type: "histogram", help: "h", samples: histogramSamples({ job: "a" }, { bounds: [0.1, 1], cumulative: [2, 3], count: 4, sum: 9.5 }) }]);
    expect(text).toBe('# HELP h_seconds h\n# TYPE h_seconds histogram\nh_seconds_bucket{job="a",le="0.1"} 2\nh_seconds_bucket{job="a",le="1"} 3\nh_seconds_bucket{job="a",le="+Inf"} 4\nh_seconds_sum{job="a"} 9.5\nh_seconds_count{job="a"} 4\n');
  });
});

describe("the duration histogram's bounds against the rollup's buckets", () => {
  it("counts every whole-millisecond duration in exactly the buckets whose bound it does not exceed", () => {
    // Every duration up to 70 s, then a spread to 25 days: the cumulative count at each bound
    // from rollup bucket indexes equals the count of durations <= the bound.
    const durations: number[] = [];
    for (let ms = 0; ms <= 70_000; ms++) durations.push(ms);
    for (let ms = 70_001; ms < 2 ** 31; ms = Math.ceil(ms * 1.01)) durations.push(ms);
    const histogram = new Map<number, number>();
    for (const d of durations) histogram.set(durationBucketIndex(d), (histogram.get(durationBucketIndex(d)) ?? 0) + 1);
    expect(cumulativeAtBounds(histogram)).toEqual(DURATION_BOUNDS_MS.map((b) => durations.filter((d) => d <= b).length));
    expect(DURATION_BOUNDS_MS.slice(0, 5)).toEqual([0, 1, 3, 7, 15]);
  });
});
