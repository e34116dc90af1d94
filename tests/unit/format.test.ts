import { describe, expect, it } from "vitest";
import { RUN_STATUSES } from "@/lib/cron/vocabulary";
import { formatExpiresIn, jobStateMeta, priorityTone, runStatusMeta } from "@/lib/dashboard/format";
import { formatDuration, formatPercent } from "@/lib/format";

describe("formatDuration", () => {
  it("reads in words at every size, leaving out a zero second unit", () => {
    expect(formatDuration(0)).toBe("0 ms");
    expect(formatDuration(950)).toBe("950 ms");
    expect(formatDuration(1_234)).toBe("1.2 s");
    expect(formatDuration(5_000)).toBe("5 s");
    expect(formatDuration(9_960)).toBe("10 s");
    expect(formatDuration(12_400)).toBe("12 s");
    expect(formatDuration(245_000)).toBe("4 min 5 s");
    expect(formatDuration(240_000)).toBe("4 min");
    expect(formatDuration(2 * 3_600_000 + 3 * 60_000)).toBe("2 h 3 min");
    expect(formatDuration(3 * 86_400_000 + 4 * 3_600_000)).toBe("3 d 4 h");
    expect(formatDuration(86_400_000)).toBe("1 d");
  });

  it("rounds up into the next unit instead of showing 60 of the smaller one", () => {
    expect(formatDuration(59_600)).toBe("1 min");
    expect(formatDuration(3_599_700)).toBe("1 h");
    expect(formatDuration(86_399_000)).toBe("1 d");
  });

  it("keeps the sign and stands `empty` in for a missing value", () => {
    expect(formatDuration(-5_000)).toBe("-5 s");
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(undefined, "-")).toBe("-");
    expect(formatDuration(Number.NaN, "-")).toBe("-");
  });
});

describe("formatPercent", () => {
  it("takes percentages 0-100, whole ones as they are and the rest to one decimal", () => {
    expect(formatPercent(100)).toBe("100%");
    expect(formatPercent(0)).toBe("0%");
    expect(formatPercent(66.67)).toBe("66.7%");
    expect(formatPercent(null)).toBe("—");
    expect(formatPercent(null, "-")).toBe("-");
  });
});

describe("dashboard words", () => {
  it("has a label for every run status, and says why a run was skipped", () => {
    for (const status of RUN_STATUSES) expect(runStatusMeta(status).label).not.toBe("");
    expect(runStatusMeta("timed_out")).toEqual({ label: "timed out", tone: "red" });
    expect(runStatusMeta("skipped", "already_running").label).toBe("skipped: already running");
    expect(runStatusMeta("some_new_status")).toEqual({ label: "some new status", tone: "zinc" });
    expect(runStatusMeta("constructor").label).toBe("constructor");
  });

  it("words job states, priorities and lease expiry", () => {
    expect(jobStateMeta("dead_lettered")).toEqual({ label: "paused: dead letters", tone: "red" });
    expect(priorityTone("critical")).toBe("red");
    expect(priorityTone("normal")).toBe("blue");
    expect(formatExpiresIn(23)).toBe("in 23 s");
    expect(formatExpiresIn(0)).toBe("now");
    expect(formatExpiresIn(-300)).toBe("expired 5 min ago");
  });
});
