/**
 * npm run cron:sync            writes the crons of vercel.json from the job registry for CRON_PLAN
 *                              (pro by default), and says per job what the file does with it
 * npm run cron:sync -- --check exits 1 (and says what differs) when vercel.json is out of date
 *
 * The same rule as `crondeck vercel sync` (lib/vercel): numeric UTC schedules, the tick for what
 * Vercel Cron cannot express or the plan does not allow. Exits 1 when the written file still
 * has an error for the plan (a redirect over /api/cron, a maxDuration above the plan's...).
 */
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { checkVercelConfig, parseVercelJson, planVercelSync } from "../lib/vercel/check";
import { applyDispatch, jobs as listedJobs } from "../lib/jobs";
import { loadEnvOrExit } from "../lib/env";

const file = join(process.cwd(), "vercel.json");
const env = loadEnvOrExit();
const plan = env.CRON_PLAN;
// As the registry dispatches them: CRON_DISPATCH=tick hands every job to the tick (no per-job crons).
const jobs = applyDispatch(listedJobs, env.CRON_DISPATCH);
let current: Record<string, unknown> | null = null;
if (existsSync(file)) {
  const parsed = parseVercelJson(readFileSync(file, "utf8"));
  if (!parsed.ok) {
    console.error(`vercel.json ${parsed.error}. Fix or delete it, then run \`npm run cron:sync\` again.`);
    process.exit(1);
  }
  current = parsed.value;
}
const sync = planVercelSync(current, jobs, plan);
const crons = sync.next.crons as unknown[];
const notes = sync.notes.map((n) => `  ${n.level === "warning" ? "! " : "- "}${n.message}`);

if (process.argv.includes("--check")) {
  if (sync.changed) {
    console.error(`vercel.json is out of date with the job registry for the ${plan} plan. Run \`${plan === "hobby" ? "CRON_PLAN=hobby " : ""}npm run cron:sync\` and commit the result.`);
    console.error(`  in vercel.json: ${JSON.stringify(current?.crons ?? [])}`);
    console.error(`  from registry:  ${JSON.stringify(crons)}`);
    process.exit(1);
  }
  console.log(`vercel.json matches the registry for the ${plan} plan (${crons.length} crons).`);
} else {
  if (sync.changed) writeFileSync(file, sync.text);
  console.log(`vercel.json: ${sync.changed ? "wrote" : "already has"} ${crons.length} crons from ${jobs.length} jobs for the ${plan} plan.`);
  console.log(notes.join("\n"));
  const report = checkVercelConfig({ vercelJson: sync.next, jobs, plan });
  for (const e of report.errors) console.error(`error: ${e.message}`);
  for (const w of report.warnings.filter((w) => w.code !== "not_as_scheduled_on_plan")) console.warn(`warning: ${w.message}`);
  if (!report.ok) process.exit(1);
}
