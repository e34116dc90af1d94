/**
 * npm run cron:sync            writes the crons of vercel.json from the job registry
 * npm run cron:sync -- --check exits 1 (and says what differs) when vercel.json is out of date
 */
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { vercelCronsFor, withCrons } from "../lib/vercel/crons";
import { jobs } from "../lib/jobs";
import { loadEnvOrExit } from "../lib/env";

const file = join(process.cwd(), "vercel.json");
const current = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>) : { $schema: "https://openapi.vercel.sh/vercel.json" };
const wanted = withCrons(current, vercelCronsFor(jobs, loadEnvOrExit().CRON_PLAN));
const text = `${JSON.stringify(wanted, null, 2)}\n`;

if (process.argv.includes("--check")) {
  if (JSON.stringify(current.crons ?? []) !== JSON.stringify(wanted.crons)) {
    console.error("vercel.json is out of date with the job registry. Run `npm run cron:sync` and commit the result.");
    console.error(`  in vercel.json: ${JSON.stringify(current.crons ?? [])}`);
    console.error(`  from registry:  ${JSON.stringify(wanted.crons)}`);
    process.exit(1);
  }
  console.log(`vercel.json matches the registry (${(wanted.crons as unknown[]).length} crons).`);
} else {
  writeFileSync(file, text);
  console.log(`vercel.json: wrote ${(wanted.crons as unknown[]).length} crons from ${jobs.length} jobs.`);
}
