import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawRequest, type RawReply } from "../support/http";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { startNextServer, type NextServer } from "../support/next-server";

/**
 * Server-side sessions, the shared login limiter and clientAddress over real HTTP (`next start`).
 * Clients come from distinct loopback addresses (127.0.0.2, .3, ...: Linux routes all of
 * 127/8 to lo), so "the attacker" and "the admin" are different TCP peers, as on a network.
 * The limiter counts per wall-clock minute: each burst starts early in a minute (freshWindow),
 * so it never straddles two windows.
 */

const TOKEN = `admin-${randomBytes(24).toString("hex")}`;
const ROTATED = `admin-${randomBytes(24).toString("hex")}`;
const WRONG = `wrong-${randomBytes(24).toString("hex")}`;

/** A request from the loopback address `from`, with exactly the headers given. */
function call(base: string, method: string, path: string, opts: { from?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawReply> {
  return rawRequest(base, method, path, { headers: opts.headers, body: opts.body, from: opts.from ?? "127.0.0.1" });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits, if needed, until the wall-clock minute has at least 35 s left (the limiter's window). */
async function freshWindow(): Promise<void> {
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 25_000) await sleep(60_000 - intoMinute + 200);
}

const login = (base: string, token: string, opts: { from?: string; headers?: Record<string, string> } = {}) =>
  call(base, "POST", "/api/admin/session", { from: opts.from, headers: { origin: base, ...opts.headers }, body: JSON.stringify({ token }) });
const cookieOf = (reply: RawReply) => {
  const value = reply.setCookie.find((c) => c.startsWith("crondeck_session="));
  if (!value) throw new Error(`no session cookie (status ${reply.status}: ${JSON.stringify(reply.body)})`);
  return value.split(";")[0];
};
const sidOf = (cookie: string) => (JSON.parse(Buffer.from(cookie.split("=")[1].split(".")[0], "base64url").toString()) as { sid: string }).sid;

/** `n` wrong guesses from `from`, each with its own X-Forwarded-For (`xff(i)`); the statuses. */
async function guesses(base: string | string[], n: number, from: string, xff: (i: number) => string | undefined): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const target = Array.isArray(base) ? base[i % base.length] : base;
    const forwarded = xff(i);
    statuses.push((await login(target, WRONG, { from, headers: forwarded ? { "x-forwarded-for": forwarded } : {} })).status);
  }
  return statuses;
}
const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

describe("sessions and the login limiter on the embedded database (no Postgres server needed)", () => {
  let dir: string;
  let server: NextServer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "crondeck-sessions-"));
    server = await startNextServer({ env: { PGLITE_DIR: join(dir, "pglite"), ADMIN_TOKEN: TOKEN } });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("a cookie copied before logout gets 401 after it", async () => {
    const cookie = cookieOf(await login(server.url, TOKEN));
    const copy = cookie;
    expect((await call(server.url, "GET", "/api/admin/cron-jobs", { headers: { cookie } })).status).toBe(200);
    const out = await call(server.url, "DELETE", "/api/admin/session", { headers: { cookie, origin: server.url } });
    expect(out.status).toBe(200);
    expect(out.setCookie.join()).toMatch(/crondeck_session=;.*Max-Age=0/);
    const after = await call(server.url, "GET", "/api/admin/cron-jobs", { headers: { cookie: copy } });
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ code: "unauthorized" });
    // The dashboard's pages refuse it too.
    const page = await call(server.url, "GET", "/dashboard/admin/cron-jobs", { headers: { cookie: copy } });
    // (The page streams, so its redirect to the login page is in the body.)
    expect(page.text).toContain("/dashboard/admin/login");
    expect(page.text).toContain("NEXT_REDIRECT");
    const live = await call(server.url, "GET", "/dashboard/admin/cron-jobs", { headers: { cookie: cookieOf(await login(server.url, TOKEN)) } });
    expect(live.status).toBe(200);
    expect(live.text).not.toContain("NEXT_REDIRECT");
  });

  it("60 guesses with a rotated X-Forwarded-For (TRUST_PROXY unset): 10 get through, 50 get 429 with Retry-After", async () => {
    await freshWindow();
    const statuses = await guesses(server.url, 60, "127.0.0.2", (i) => `198.51.100.${i + 1}`);
    expect(count(statuses, 401)).toBe(10);
    expect(count(statuses, 429)).toBe(50);
    const refused = await login(server.url, WRONG, { from: "127.0.0.2", headers: { "x-forwarded-for": "192.0.2.200" } });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    expect(refused.body).toMatchObject({ code: "too_many_attempts" });
    // Another peer is not locked out by it.
    expect((await login(server.url, TOKEN, { from: "127.0.0.3" })).status).toBe(200);
  });

  it("a login body over 4 KB is refused with 413 before it is read, for JSON and the form alike", async () => {
    const big = JSON.stringify({ token: "x".repeat(5000) });
    const json = await call(server.url, "POST", "/api/admin/session", { from: "127.0.0.4", headers: { origin: server.url }, body: big });
    expect(json.status).toBe(413);
    const form = await call(server.url, "POST", "/api/admin/session", {
      from: "127.0.0.4",
      headers: { origin: server.url, "content-type": "application/x-www-form-urlencoded" },
      body: `token=${"x".repeat(5000)}`,
    });
    expect(form.status).toBe(413);
    const ok = await call(server.url, "POST", "/api/admin/session", {
      from: "127.0.0.4",
      headers: { origin: server.url, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: TOKEN, next: "/dashboard/admin/audit" }).toString(),
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.location).toBe("/dashboard/admin/audit");
    expect(cookieOf(ok)).toMatch(/^crondeck_session=/);
  });
});

describeWithPostgres("sessions, limiter and client address on a Postgres server", () => {
  let database: TestDatabase;
  let shared: TestDatabase;
  let pool: pg.Pool;
  let sharedPool: pg.Pool;
  let direct: NextServer;
  let proxied: [NextServer, NextServer];
  const q = async (text: string, params: unknown[] = []) => (await pool.query(text, params)).rows;

  beforeAll(async () => {
    [database, shared] = await Promise.all([createTestDatabase("postgres", { migrate: false }), createTestDatabase("postgres", { migrate: false })]);
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    sharedPool = new pg.Pool({ connectionString: shared.url, max: 2 });
    const base = { ADMIN_TOKEN: TOKEN };
    direct = await startNextServer({ env: { ...base, DATABASE_URL: database.url } });
    // Two instances of the app behind one proxy, on one database.
    proxied = await Promise.all([
      startNextServer({ env: { ...base, DATABASE_URL: shared.url, TRUST_PROXY: "1" } }),
      startNextServer({ env: { ...base, DATABASE_URL: shared.url, TRUST_PROXY: "1" } }),
    ]);
    // First use opens and migrates each database.
    expect((await call(direct.url, "GET", "/api/admin/cron-jobs", { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await call(proxied[0].url, "GET", "/api/admin/cron-jobs", { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  }, 180_000);

  afterAll(async () => {
    await Promise.all([direct?.stop(), ...(proxied ?? []).map((s) => s?.stop())]);
    await pool?.end();
    await sharedPool?.end();
    await Promise.all([database?.dispose(), shared?.dispose()]);
  });

  it("a spoofed X-Forwarded-For neither locks the admin out nor reaches the audit log (TRUST_PROXY unset)", async () => {
    await freshWindow();
    // The attacker (127.0.0.5) claims to be the admin's address in every guess, in every header it can think of.
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const headers = { "x-forwarded-for": "127.0.0.6", "x-real-ip": "127.0.0.6", "x-crondeck-peer": "127.0.0.6" };
      statuses.push((await login(direct.url, WRONG, { from: "127.0.0.5", headers })).status);
    }
    expect(count(statuses, 429)).toBe(10);
    // The admin (127.0.0.6) logs in, with a header claiming yet another address.
    const reply = await login(direct.url, TOKEN, { from: "127.0.0.6", headers: { "x-forwarded-for": "6.6.6.6" } });
    expect(reply.status).toBe(200);
    const sid = sidOf(cookieOf(reply));
    const [row] = await q(`SELECT ip_address, session_id FROM cron_audit_log WHERE action = 'session.login' AND session_id = $1`, [sid]);
    expect(row).toEqual({ ip_address: "127.0.0.6", session_id: sid });
    expect(await q(`SELECT ip_address FROM cron_audit_log WHERE ip_address IN ('6.6.6.6') UNION ALL SELECT ip_address FROM cron_admin_sessions WHERE ip_address = '6.6.6.6'`)).toEqual([]);
  });

  it("audit rows carry the session id: login, an action, logout; the bearer token's carry none", async () => {
    const cookie = cookieOf(await login(direct.url, TOKEN, { from: "127.0.0.7" }));
    const sid = sidOf(cookie);
    const paused = await call(direct.url, "POST", "/api/admin/cron-jobs/pause-all", { from: "127.0.0.7", headers: { cookie, origin: direct.url }, body: "{}" });
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    const resumed = await call(direct.url, "POST", "/api/admin/cron-jobs/resume-all", { headers: { authorization: `Bearer ${TOKEN}` }, body: "{}" });
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    expect((await call(direct.url, "DELETE", "/api/admin/session", { from: "127.0.0.7", headers: { cookie, origin: direct.url } })).status).toBe(200);
    const rows = await q(`SELECT action, session_id, ip_address FROM cron_audit_log WHERE action IN ('session.login', 'job.pause_all', 'job.resume_all', 'session.logout') AND (session_id = $1 OR session_id IS NULL) ORDER BY id`, [sid]);
    expect(rows).toEqual([
      { action: "session.login", session_id: sid, ip_address: "127.0.0.7" },
      { action: "job.pause_all", session_id: sid, ip_address: "127.0.0.7" },
      { action: "job.resume_all", session_id: null, ip_address: "127.0.0.1" },
      { action: "session.logout", session_id: sid, ip_address: "127.0.0.7" },
    ]);
    expect(await q(`SELECT revoked_reason FROM cron_admin_sessions WHERE id = $1`, [sid])).toEqual([{ revoked_reason: "logout" }]);
  });

  it("background requests (X-Crondeck-Background: 1, the background cookie on a page) do not move last_seen_at; the user's do", async () => {
    const cookie = cookieOf(await login(direct.url, TOKEN, { from: "127.0.0.8" }));
    const sid = sidOf(cookie);
    const lastSeen = async () => (await q(`SELECT last_seen_at FROM cron_admin_sessions WHERE id = $1`, [sid]))[0].last_seen_at as Date;
    // 29 minutes idle.
    await q(`UPDATE cron_admin_sessions SET last_seen_at = now() - interval '29 minutes' WHERE id = $1`, [sid]);
    const before = await lastSeen();
    const poll = await call(direct.url, "GET", "/api/admin/cron-jobs", { headers: { cookie, "x-crondeck-background": "1" } });
    expect(poll.status).toBe(200);
    const refresh = await call(direct.url, "GET", "/dashboard/admin/cron-jobs", { headers: { cookie: `${cookie}; crondeck_background=1` } });
    expect(refresh.status).toBe(200);
    expect(refresh.text).not.toContain("NEXT_REDIRECT");
    expect((await lastSeen()).getTime()).toBe(before.getTime());
    // Past 30 minutes, the poll is refused: it never kept the session alive.
    await q(`UPDATE cron_admin_sessions SET last_seen_at = now() - interval '30 minutes 5 seconds' WHERE id = $1`, [sid]);
    const late = await call(direct.url, "GET", "/api/admin/cron-jobs", { headers: { cookie, "x-crondeck-background": "1" } });
    expect(late.status).toBe(401);
    expect(late.body).toMatchObject({ code: "session_expired" });

    // Another session: the user's page view and API call move last_seen_at.
    const cookie2 = cookieOf(await login(direct.url, TOKEN, { from: "127.0.0.8" }));
    const sid2 = sidOf(cookie2);
    for (const [path, label] of [["/dashboard/admin/cron-jobs", "page"], ["/api/admin/cron-jobs", "api"]] as const) {
      await q(`UPDATE cron_admin_sessions SET last_seen_at = now() - interval '29 minutes' WHERE id = $1`, [sid2]);
      const viewed = await call(direct.url, "GET", path, { headers: { cookie: cookie2 } });
      expect(viewed.status, label).toBe(200);
      expect(viewed.text, label).not.toContain("NEXT_REDIRECT");
      const [{ idle }] = await q(`SELECT extract(epoch FROM now() - last_seen_at)::float AS idle FROM cron_admin_sessions WHERE id = $1`, [sid2]);
      expect(idle, label).toBeLessThan(10);
    }
  });

  it("TRUST_PROXY=1: the last X-Forwarded-For hop is the client, for the limiter and the audit log; a forged left part changes nothing", async () => {
    await freshWindow();
    const statuses = await guesses(proxied[0].url, 20, "127.0.0.9", (i) => `10.66.${i}.1, 203.0.113.10`);
    expect(count(statuses, 401)).toBe(10);
    expect(count(statuses, 429)).toBe(10);
    // Another client behind the same proxy is not held back.
    const reply = await login(proxied[0].url, TOKEN, { from: "127.0.0.9", headers: { "x-forwarded-for": "6.6.6.6, 203.0.113.11" } });
    expect(reply.status).toBe(200);
    const [row] = (await sharedPool.query(`SELECT ip_address FROM cron_audit_log WHERE session_id = $1`, [sidOf(cookieOf(reply))])).rows;
    expect(row).toEqual({ ip_address: "203.0.113.11" });
  });

  it("two instances on one database share the limiter: 20 guesses alternating between them let 10 through", async () => {
    await freshWindow();
    const statuses = await guesses(
      proxied.map((s) => s.url),
      20,
      "127.0.0.10",
      () => "203.0.113.12",
    );
    expect(count(statuses, 401)).toBe(10);
    expect(count(statuses, 429)).toBe(10);
  });

  it("a session made under an old ADMIN_TOKEN is refused after the server restarts with another, and marked revoked", async () => {
    const cookie = cookieOf(await login(proxied[1].url, TOKEN, { headers: { "x-forwarded-for": "203.0.113.13" } }));
    expect((await call(proxied[1].url, "GET", "/api/admin/cron-jobs", { headers: { cookie } })).status).toBe(200);
    await proxied[1].stop();
    proxied[1] = await startNextServer({ env: { ADMIN_TOKEN: ROTATED, DATABASE_URL: shared.url, TRUST_PROXY: "1" } });
    const refused = await call(proxied[1].url, "GET", "/api/admin/cron-jobs", { headers: { cookie } });
    expect(refused.status).toBe(401);
    expect((await sharedPool.query(`SELECT revoked_reason FROM cron_admin_sessions WHERE id = $1`, [sidOf(cookie)])).rows).toEqual([{ revoked_reason: "token_rotated" }]);
    // The new token logs in.
    const fresh = cookieOf(await login(proxied[1].url, ROTATED, { headers: { "x-forwarded-for": "203.0.113.13" } }));
    expect((await call(proxied[1].url, "GET", "/api/admin/cron-jobs", { headers: { cookie: fresh } })).status).toBe(200);
  }, 120_000);
});
