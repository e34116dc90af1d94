import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { runNextExpectingExit, startNextServer, type NextServer } from "../support/next-server";

async function getJson(url: string): Promise<{ status: number; text: string; body: Record<string, unknown> }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(20_000) });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as Record<string, unknown> };
}

describe("GET /api/health on embedded PGlite", () => {
  let dir: string;
  let server: NextServer | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "crondeck-health-"));
    server = await startNextServer({ env: { PGLITE_DIR: join(dir, ".data", "pglite") } });
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers 200 with the database ok and creates the data directory", async () => {
    const { status, body } = await getJson(`${server!.url}/api/health`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: "ok", database: "ok", databaseKind: "pglite", lockStore: "not_configured" });
    expect(body.version).toEqual(expect.any(String));
    expect(body.uptimeSeconds).toEqual(expect.any(Number));
    expect(new Date(String(body.checkedAt)).toString()).not.toBe("Invalid Date");
    expect(existsSync(join(dir, ".data"))).toBe(true);
    expect(existsSync(join(dir, ".data", "pglite", "PG_VERSION"))).toBe(true);
  });

  it("is never cached", async () => {
    const first = await getJson(`${server!.url}/api/health`);
    await new Promise((r) => setTimeout(r, 5));
    const second = await getJson(`${server!.url}/api/health`);
    expect(second.body.checkedAt).not.toBe(first.body.checkedAt);
  });
});

describeWithPostgres("GET /api/health on a Postgres server", () => {
  let database: TestDatabase | undefined;
  let server: NextServer | undefined;
  beforeAll(async () => {
    // A database of its own, migrated by the server on its first request.
    database = await createTestDatabase("postgres", { migrate: false });
    server = await startNextServer({ env: { DATABASE_URL: database.url, CRONDECK_CODE_VERSION: "test-sha" } });
  });
  afterAll(async () => {
    await server?.stop();
    await database?.dispose();
  });

  it("answers 200 with databaseKind postgres and the configured version", async () => {
    const { status, body } = await getJson(`${server!.url}/api/health`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: "ok", database: "ok", databaseKind: "postgres", version: "test-sha" });
  });
});

describe("GET /api/health when the database is unreachable", () => {
  const secret = "hunter2-not-a-real-password";
  let server: NextServer | undefined;
  beforeAll(async () => {
    server = await startNextServer({ env: { DATABASE_URL: `postgres://postgres:${secret}@127.0.0.1:1/test` } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("answers 503 database_unreachable within the timeout, leaking no connection string", async () => {
    const started = Date.now();
    const { status, text, body } = await getJson(`${server!.url}/api/health`);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(status).toBe(503);
    expect(body).toMatchObject({ status: "error", database: "unreachable", code: "database_unreachable" });
    expect(body.message).toEqual(expect.any(String));
    expect(text).not.toContain("postgres://");
    expect(text).not.toContain(secret);
    expect(text).not.toMatch(/\n\s+at /);
    expect(server!.output()).not.toContain(secret);
    expect(server!.output()).not.toContain("postgres://");
  });
});

describe("next start with a malformed environment", () => {
  it.each([
    ["CRON_LOG_RETENTION_DAYS", { CRON_LOG_RETENTION_DAYS: "abc" }],
    ["DATABASE_URL", { DATABASE_URL: "mysql://x" }],
  ])("exits non-zero naming %s", async (variable, env) => {
    const result = await runNextExpectingExit({ env });
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    expect(result.output).toContain(variable);
    expect(result.output).not.toMatch(/\n\s+at /);
  });
});
