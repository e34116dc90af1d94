/**
 * The Crondeck CLI: `npm run cron -- <command>` (or `crondeck <command>` through bin/crondeck.mjs).
 * `npm run cron -- --help` lists the commands. Commands live in scripts/cli/.
 */
import { main } from "./cli/main";

const code = await main(process.argv.slice(2));
// Writes to pipes and files are synchronous on Linux and macOS, so nothing printed is lost;
// exiting here also ends whatever a job handler may have left running (timers, sockets).
process.exit(code);
