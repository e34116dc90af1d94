/** npm run db:migrate: applies pending migrations to the database the environment names (see README). */
import { loadEnv } from "../lib/env";
import { openDatabase, targetFromEnv } from "../lib/db/client";
import { migrate } from "../lib/db/migrate";

const target = targetFromEnv(loadEnv());
const database = await openDatabase(target);
try {
  const applied = await migrate(database.db);
  console.log(applied.length ? `Applied ${applied.length} migration(s) to ${target.kind}: ${applied.join(", ")}` : `${target.kind}: already up to date.`);
} catch (error) {
  console.error(`Migration failed on ${target.kind}: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await database.close();
}
