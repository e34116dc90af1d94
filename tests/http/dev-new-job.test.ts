import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { copyProject, freePort, startDev, type ProjectCopy, type RunningServer } from "@/bench/dev-memory";

/**
 * What a newcomer does: `npm run dev` on a fresh copy of the project (git clone, node_modules
 * hard-linked), then a job added the README's way (a file in lib/jobs, listed in
 * lib/jobs/index.ts) while it runs. The local scheduler picks it up from the dev server's
 * registry without a restart, says so, writes it to the dev state file, and fires it on its
 * schedule (every minute: within about 60 s), and the run is in the database. It takes a few minutes on a loaded
 * machine (most of it next dev compiling /api/health before the banner); the limits allow for that.
 */
// Not the name scripts/newcomer.sh adds in the tree CI runs this in.
const JOB = "dev-added-job";
let copy: ProjectCopy | undefined;
let dev: RunningServer | undefined;
let skip = "";
try {
  copy = copyProject("crondeck-devjob-");
} catch (error) {
  skip = `cannot make a copy of the project to run npm run dev in: ${(error as Error).message}`;
  console.warn(`[dev-new-job] skipped: ${skip}`);
}

afterAll(async () => {
  await dev?.stop();
  copy?.dispose();
});

describe.skipIf(!!skip)("npm run dev picks up a new job without a restart", () => {
  it("the scheduler picks up the job the registry gains, says it is not in vercel.json, and runs it on its schedule", async () => {
    const dir = copy!.dir;
    const port = await freePort();
    dev = startDev(dir, port);
    await dev.waitFor(/\[crondeck\] local scheduler: .*it follows vercel.json/, 300_000);
    expect(dev.output()).toContain(`[crondeck] dashboard: http://localhost:${port}/dashboard/admin/cron-jobs`);
    const state = () => JSON.parse(readFileSync(join(dir, ".data/dev-server.json"), "utf8"));
    expect(state()).toMatchObject({ url: `http://localhost:${port}`, scheduler: { enabled: true } });
    expect(state().scheduler.crons.map((c: { path: string }) => c.path)).not.toContain(`/api/cron/execute/${JOB}`);

    // The README's way: a file, then a line in lib/jobs/index.ts.
    writeFileSync(
      join(dir, "lib/jobs", `${JOB}.ts`),
      `import { defineJob } from "../cron/define-job";\n\nexport default defineJob({\n  name: "${JOB}",\n  schedule: "* * * * *",\n  timeout: "10s",\n  handler: async (ctx) => {\n    ctx.log("hello from the new job");\n    return { hello: true };\n  },\n});\n`,
    );
    const index = join(dir, "lib/jobs/index.ts");
    writeFileSync(
      index,
      readFileSync(index, "utf8")
        .replace('import healthCheck from "./health-check";', `import healthCheck from "./health-check";\nimport newcomerJob from "./${JOB}";`)
        // Appended to whatever the list holds, as a user would.
        .replace(/export const jobs: readonly JobDefinition\[\] = \[([^\]]*)\];/, (_, list: string) => `export const jobs: readonly JobDefinition[] = [${list}, newcomerJob];`),
    );
    expect(readFileSync(index, "utf8")).toContain("newcomerJob]");

    await dev.waitFor(new RegExp(`\\[crondeck\\] local scheduler: picked up ${JOB} \\(\\* \\* \\* \\* \\*\\)`), 60_000);
    // The flag comes right after the pick-up line, and the state file with them: waited for, not assumed printed yet.
    const flag = `[crondeck] ${JOB} is in the registry but not in vercel.json: it runs here, but not on Vercel until \`npm run cron:sync\``;
    await dev.waitFor(new RegExp(flag.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")), 15_000);
    await expect.poll(() => state().scheduler.crons, { timeout: 15_000 }).toContainEqual({ path: `/api/cron/execute/${JOB}`, schedule: "* * * * *" });

    // Its next minute: the scheduler calls it as Vercel Cron would, and the run is recorded.
    await dev.waitFor(new RegExp(`\\[cron\\] GET /api/cron/execute/${JOB} -> 200 completed`), 100_000);
    const secret = /^CRON_SECRET=(.+)$/m.exec(readFileSync(join(dir, ".env.local"), "utf8"))![1];
    const detail = await fetch(`http://localhost:${port}/api/cron/jobs/${JOB}`, { headers: { authorization: `Bearer ${secret}` } });
    expect(detail.status).toBe(200);
    const body = (await detail.json()) as { job: { name: string }; state: Record<string, unknown> };
    expect(body.job.name).toBe(JOB);
    expect(JSON.stringify(body.state)).toContain("completed");
    // The message about vercel.json comes once, not every poll.
    expect(dev.output().split(`${JOB} is in the registry but not in vercel.json`).length - 1).toBe(1);
  }, 540_000);
});
