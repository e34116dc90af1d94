/** npm run db:migrate: applies pending migrations to the database the environment names (see README). */
import { loadEnvOrExit } from "../lib/env";
import { migrateDatabase, openDatabase, targetFromEnv, type Database } from "../lib/db/client";

const target = targetFromEnv(loadEnvOrExit());
let database: Database | undefined;
try {
  // The embedded database may be another process's (refused, with the fix) or damaged: the message says so.
  database = await openDatabase(target);
  // Without the statement timeout: a migration may take long on a big table.
  const applied = await migrateDatabase(database);
  console.log(applied.length ? `Applied ${applied.length} migration(s) to ${target.kind}: ${applied.join(", ")}` : `${target.kind}: already up to date.`);
} catch (error) {
  console.error(`Migration failed on ${target.kind}: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await database?.close();
}
