import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { defineJob } from "@/lib/cron/define-job";
import { vercelCronsFor } from "@/lib/vercel/crons";
import { jobs } from "@/lib/jobs";

it("vercel.json has exactly the crons the registry asks for (run `npm run cron:sync` if this fails)", () => {
  const vercel = JSON.parse(readFileSync("vercel.json", "utf8"));
  expect(vercel.crons).toEqual(vercelCronsFor(jobs));
  expect(vercel.trailingSlash).toBe(false);
});

it("leaves jobs with a timezone to the tick, since Vercel Cron is UTC only", () => {
  const noop = async () => {};
  const crons = vercelCronsFor([
    defineJob({ name: "b-utc", schedule: "0 1 * * *", handler: noop }),
    defineJob({ name: "a-paris", schedule: { cron: "0 9 * * *", timezone: "Europe/Paris" }, handler: noop }),
    defineJob({ name: "c-forced", schedule: "0 2 * * *", dispatch: "tick", handler: noop }),
  ]);
  expect(crons).toEqual([
    { path: "/api/cron/execute/b-utc", schedule: "0 1 * * *" },
    { path: "/api/cron/tick", schedule: "* * * * *" },
  ]);
  expect(vercelCronsFor([], "hobby")).toEqual([{ path: "/api/cron/tick", schedule: "0 0 * * *" }]);
});
