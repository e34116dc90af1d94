import { sql } from "drizzle-orm";
import { queryRows, type Db } from "../client";

/** One round trip to the database (SELECT 1): resolves when it answers. */
export async function pingDatabase(db: Db): Promise<void> {
  await queryRows(db, sql`SELECT 1 AS ok`);
}
