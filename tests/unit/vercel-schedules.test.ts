import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { defineJob, type JobDefinition } from "@/lib/cron/define-job";
import { numericCronFields, occurrencesBetween } from "@/lib/cron/schedule";
import { demoJobs, jobs } from "@/lib/jobs";
import { checkVercelConfig, planVercelSync } from "@/lib/vercel/check";
import { deliveryGraceMs, dispatchOnPlan, expectedVercelSchedule, routeNotes, routeOnPlan, staleTickSchedule, staleVercelSchedule, TICK_PATH, vercelCronsFor, VERCEL_PLANS, withPlanDispatch, type VercelPlan } from "@/lib/vercel/crons";
import { tickWorld } from "../support/memory-tick-store";

/**
 * What Vercel accepts in a cron `schedule`, written here from its documentation ("Cron
 * expressions": numbers only, day of week 0-6, not both day of month and day of week; Hobby:
 * once a day) and the Vercel CLI's validator (`*`, `a`, `a-b`, `*\/n`, `a-b/n`, lists). An
 * oracle of its own: it shares no code with lib/vercel.
 */
const RANGES: Array<[number, number]> = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 6]];
function vercelRefuses(schedule: string, plan: VercelPlan): string | null {
  const fields = schedule.split(" ");
  if (fields.length !== 5 || schedule !== schedule.trim()) return "not 5 single-spaced fields";
  for (let i = 0; i < 5; i++) {
    for (const part of fields[i].split(",")) {
      const m = /^(?:\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      if (!m) return `field ${i} "${part}" is not numeric cron`;
      if (m[1] !== undefined && m[2] === undefined && m[3] !== undefined) return `field ${i} "${part}": a step needs a range`;
      for (const v of [m[1], m[2]]) if (v !== undefined && (Number(v) < RANGES[i][0] || Number(v) > RANGES[i][1])) return `field ${i} "${part}" out of range`;
      if (m[3] !== undefined && Number(m[3]) < 1) return `field ${i} "${part}" steps by 0`;
    }
  }
  if (fields[2] !== "*" && fields[4] !== "*") return "both day of month and day of week";
  if (plan === "hobby" && !(/^\d+$/.test(fields[0]) && /^\d+$/.test(fields[1]))) return "more than once a day on Hobby";
  return null;
}

const noop = async () => {};
let n = 0;
const job = (schedule: string, extra: Partial<Parameters<typeof defineJob>[0]> = {}) => defineJob({ name: `vs-${++n}`, schedule, handler: noop, ...extra });
const now = new Date("2026-12-01T12:00:00Z");
const sameSlots = (a: string, b: string) => {
  const from = new Date("2026-01-01T00:00:00Z");
  const to = new Date("2028-12-31T00:00:00Z");
  const slots = (cron: string) => occurrencesBetween({ cron, timezone: "UTC" }, from, to, 3000).map((d) => d.getTime());
  expect(slots(b), `${a} vs ${b}`).toEqual(slots(a));
};

// [registry expression, plan, what vercel.json gets: the numeric schedule, or the tick's reason]
const TABLE: Array<[string, VercelPlan, string]> = [
  ["0 9 * * MON-FRI", "pro", "0 9 * * 1-5"],
  ["0 9 * * mon-fri", "hobby", "0 9 * * 1-5"],
  ["0 0 1 JAN *", "pro", "0 0 1 1 *"],
  ["0 0 * JAN-MAR/2 SUN", "pro", "0 0 * 1-3/2 0"],
  ["0 0 * * 7", "pro", "0 0 * * 0"],
  ["30 2 * * 0,7", "hobby", "30 2 * * 0"],
  ["0 0 * * 5-7", "pro", "0 0 * * 5,6,0"],
  ["0 0 * * 1-7/2", "pro", "0 0 * * 1,3,5,0"],
  ["5/15 * * * *", "pro", "5-59/15 * * * *"],
  ["0 3/6 * * *", "pro", "0 3-23/6 * * *"],
  ["  0   1 * * * ", "hobby", "0 1 * * *"],
  ["*/5 * * * *", "pro", "*/5 * * * *"],
  ["*/5 * * * *", "hobby", "tick:hobby_frequency"],
  ["0 0,12 * * *", "hobby", "tick:hobby_frequency"],
  ["0 * * * *", "hobby", "tick:hobby_frequency"],
  ["0 12 * * 1-5", "hobby", "0 12 * * 1-5"],
  ["0 0 1 * MON", "pro", "tick:day_of_month_and_week"],
  ["0 0 1-7 * 1", "hobby", "tick:day_of_month_and_week"],
  ["0 0 13 * FRI", "pro", "tick:day_of_month_and_week"],
  ["0 0 29 2 *", "hobby", "0 0 29 2 *"],
];

describe("the schedules cron:sync writes", () => {
  it.each(TABLE)("%j on %s -> %s", (cron, plan, expected) => {
    const j = job(cron);
    const route = routeOnPlan(j, plan);
    expect(route.via === "vercel" ? route.schedule : `tick:${route.reason}`).toBe(expected);
    expect(expectedVercelSchedule(j, plan)).toBe(route.via === "vercel" ? expected : null);
    expect(dispatchOnPlan(j, plan)).toBe(route.via);
    if (route.via === "vercel") {
      expect(vercelRefuses(route.schedule, plan)).toBeNull();
      sameSlots(cron, route.schedule);
    }
  });

  it("every shipped job, on every plan, gets a file Vercel accepts and vercel check passes", () => {
    for (const plan of VERCEL_PLANS) {
      for (const list of [jobs, demoJobs, [...jobs, ...demoJobs, ...TABLE.map(([cron]) => job(cron))]]) {
        const crons = vercelCronsFor(list, plan);
        for (const c of crons) expect(vercelRefuses(c.schedule, plan), `${plan} ${c.path} "${c.schedule}"`).toBeNull();
        const report = checkVercelConfig({ vercelJson: { trailingSlash: false, crons }, jobs: list, plan, now });
        expect(report.errors, plan).toEqual([]);
        // A line per job, whatever the registry holds.
        expect(report.notes.map((x) => x.job).sort()).toEqual(list.map((j) => j.name).sort());
      }
    }
  });

  it("numericCronFields keeps the slots of every expression it rewrites, and refuses what is not cron", () => {
    for (const [cron] of TABLE) sameSlots(cron, numericCronFields(cron));
    for (const j of [...jobs, ...demoJobs]) if (j.schedule.kind !== "every" && j.schedule.kind !== "once") sameSlots(j.schedule.cron, numericCronFields(j.schedule.cron));
    expect(() => numericCronFields("0 0 * * L")).toThrow();
    expect(() => numericCronFields("0 0 * * 1#2")).toThrow();
    expect(() => numericCronFields("0 0 * *")).toThrow(/5/);
  });
});

describe("vercel check fails on what Vercel refuses", () => {
  it("names, and both day fields set, are errors, not warnings", () => {
    const weekday = job("0 9 * * MON-FRI");
    const both = job("0 0 1 * 1");
    const file = { crons: [{ path: `/api/cron/execute/${weekday.name}`, schedule: "0 9 * * MON-FRI" }, { path: `/api/cron/execute/${both.name}`, schedule: "0 0 1 * 1" }, { path: TICK_PATH, schedule: "* * * * *" }] };
    const report = checkVercelConfig({ vercelJson: file, jobs: [weekday, both], plan: "pro", now });
    expect(report.ok).toBe(false);
    const codes = report.errors.map((e) => e.code);
    expect(codes).toContain("named_values");
    expect(codes).toContain("day_of_month_and_week");
    expect(report.errors.find((e) => e.code === "named_values")?.message).toContain('"0 9 * * 1-5"');
    // What cron:sync writes instead passes.
    const fixed = planVercelSync(file, [weekday, both], "pro", now);
    expect(checkVercelConfig({ vercelJson: fixed.next, jobs: [weekday, both], plan: "pro", now }).ok).toBe(true);
    expect(fixed.notes.find((x) => x.job === both.name)?.message).toContain("both day of month and day of week");
  });

  it("the shipped vercel.json (Pro) fails --plan hobby; what cron:sync writes for Hobby passes it", () => {
    const shipped = JSON.parse(readFileSync("vercel.json", "utf8"));
    const hobbyCheck = checkVercelConfig({ vercelJson: shipped, jobs, plan: "hobby", now });
    expect(hobbyCheck.ok).toBe(false);
    expect(hobbyCheck.errors.map((e) => e.code)).toContain("hobby_frequency");
    const hobby = planVercelSync(shipped, jobs, "hobby", now);
    const after = checkVercelConfig({ vercelJson: hobby.next, jobs, plan: "hobby", now });
    expect(after.errors).toEqual([]);
    for (const c of hobby.next.crons as Array<{ schedule: string }>) expect(vercelRefuses(c.schedule, "hobby")).toBeNull();
    // health-check fires every 5 minutes: on Hobby it has no cron, and the sync says so with the ways out.
    const health = hobby.notes.find((x) => x.job === "health-check")!;
    expect(health).toMatchObject({ via: "tick", code: "hobby_frequency", level: "warning" });
    expect(health.message).toMatch(/upgrade to Pro/);
    expect((hobby.next.crons as Array<{ path: string }>).map((c) => c.path)).not.toContain("/api/cron/execute/health-check");
  });
});

describe("a job the plan routes through the tick is dispatched by the tick", () => {
  const every5 = job("*/5 * * * *");
  const both = job("0 0 1 * 1");

  it("withPlanDispatch gives the tick what vercel.json leaves out, and nothing else", () => {
    const utcDaily = job("0 1 * * *");
    expect(withPlanDispatch([every5, both, utcDaily], "hobby").map((j) => j.dispatch)).toEqual(["tick", "tick", "vercel"]);
    expect(withPlanDispatch([every5, both, utcDaily], "pro").map((j) => j.dispatch)).toEqual(["vercel", "tick", "vercel"]);
    const same = withPlanDispatch([utcDaily], "hobby");
    expect(same[0]).toBe(utcDaily);
  });

  it("on Hobby the daily tick runs the every-5-minutes job once; on Pro the minute tick runs the both-days job on its slot", async () => {
    const hobby = tickWorld(withPlanDispatch([every5], "hobby") as JobDefinition[], { graceMs: deliveryGraceMs("hobby") });
    await hobby.tick("2026-12-01T00:20:00Z");
    const report = await hobby.tick("2026-12-02T00:37:00Z");
    expect(report.dispatched.map((d) => [d.request.jobName, d.request.trigger === "retry" ? null : d.request.slot.toISOString()])).toEqual([[every5.name, "2026-12-02T00:35:00.000Z"]]);
    // Without the plan's dispatch the tick leaves it to a Vercel cron that Hobby cannot have: it would never run.
    const unrouted = tickWorld([every5], { graceMs: deliveryGraceMs("hobby") });
    await unrouted.tick("2026-12-01T00:20:00Z");
    expect((await unrouted.tick("2026-12-02T00:37:00Z")).dispatched).toEqual([]);

    const pro = tickWorld(withPlanDispatch([both], "pro") as JobDefinition[]);
    await pro.tick("2026-12-06T23:59:00Z");
    const monday = await pro.tick("2026-12-07T00:00:20Z"); // a Monday
    expect(monday.dispatched.map((d) => d.request.jobName)).toEqual([both.name]);
  });

  it("routeNotes says which jobs cannot run as scheduled on Hobby", () => {
    const paris = defineJob({ name: "vs-paris", schedule: { cron: "0 9 * * *", timezone: "Europe/Paris" }, handler: noop });
    const midnight = job("0 0 * * *", { dispatch: "tick" });
    const notes = routeNotes([every5, paris, midnight], "hobby", now);
    const byJob = Object.fromEntries(notes.map((x) => [x.job, x]));
    expect(byJob[every5.name].level).toBe("warning");
    expect(byJob["vs-paris"].message).toContain("never runs on Hobby");
    expect(byJob[midnight.name]).toMatchObject({ level: "info" });
    expect(byJob[midnight.name].message).toContain("runs as scheduled");
    expect(routeNotes([every5, paris], "pro", now).every((x) => x.level === "info")).toBe(true);
  });
});

describe("staleVercelSchedule: the header Vercel sends against what cron:sync writes", () => {
  const weekday = job("0 9 * * MON-FRI");
  const every5 = job("*/5 * * * *");
  it("agrees with the numeric form cron:sync writes, whatever the spacing", () => {
    expect(staleVercelSchedule(null, weekday, "pro")).toBeNull();
    expect(staleVercelSchedule("0 9 * * 1-5", weekday, "pro")).toBeNull();
    expect(staleVercelSchedule(" 0  9 * * 1-5 ", weekday, "pro")).toBeNull();
  });
  it("flags another schedule, and a cron for a job the plan gives to the tick, naming both and the fix", () => {
    const changed = staleVercelSchedule("0 8 * * 1-5", weekday, "pro")!;
    expect(changed).toMatchObject({ sent: "0 8 * * 1-5", expected: "0 9 * * 1-5" });
    expect(changed.message).toContain("npm run cron:sync");
    const hobby = staleVercelSchedule("*/5 * * * *", every5, "hobby")!;
    expect(hobby.expected).toBeNull();
    expect(hobby.message).toContain("the tick dispatches it");
    expect(hobby.fix).toContain("CRON_PLAN=hobby npm run cron:sync");
    expect(staleVercelSchedule("*/5 * * * *", every5, "pro")).toBeNull();
  });
});

describe("staleTickSchedule: the tick's header against CRON_PLAN", () => {
  it("names the plan mismatch, a stale file, or nothing", () => {
    expect(staleTickSchedule(null, "pro")).toBeNull();
    expect(staleTickSchedule("* * * * *", "pro")).toBeNull();
    expect(staleTickSchedule("0 0 * * *", "hobby")).toBeNull();
    const hobbyFileOnPro = staleTickSchedule("0 0 * * *", "pro")!;
    expect(hobbyFileOnPro.expected).toBe("* * * * *");
    expect(hobbyFileOnPro.fix).toContain("set CRON_PLAN=hobby in the Vercel project");
    expect(staleTickSchedule("*/2 * * * *", "pro")!.message).toContain("stale");
  });
});
