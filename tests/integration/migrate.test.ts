import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { queryRows } from "@/lib/db/client";
import { migrate } from "@/lib/db/migrate";
import { createTestDatabase, describeOnDatabases, testDatabaseKinds } from "../support/db";

describeOnDatabases("migrations", (ctx) => {
  it("creates the seed tables with their columns", async () => {
    const rows = await queryRows<{ column_name: string }>(
      ctx.db,
      sql`SELECT column_name FROM information_schema.columns WHERE table_name = 'cron_job_logs' ORDER BY ordinal_position`,
    );
    const columns = rows.map((r) => r.column_name);
    for (const c of ["id", "job_name", "status", "started_at", "completed_at", "duration_ms", "error_message", "attempts", "created_at", "scheduled_for", "trigger", "fencing_token", "lease_expires_at", "holder", "error_stack", "output", "log_lines", "code_version"]) {
      expect(columns).toContain(c);
    }
  });

  it("applies nothing the second time", async () => {
    expect(await migrate(ctx.db)).toEqual([]);
  });
});

for (const kind of testDatabaseKinds()) {
  it(`applies once when instances migrate at the same time [${kind}]`, async () => {
    const database = await createTestDatabase(kind, { migrate: false });
    try {
      const results = await Promise.all([migrate(database.db), migrate(database.db), migrate(database.db)]);
      const applied = results.map((r) => r.length).sort();
      expect(applied[2]).toBeGreaterThan(0);
      expect(applied.slice(0, 2)).toEqual([0, 0]);
      const [{ n }] = await queryRows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`);
      expect(n).toBe(applied[2]);
    } finally {
      await database.dispose();
    }
  });
}
