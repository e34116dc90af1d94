import { expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { checkSession, newSession, sessionRowFor, signSession, SESSION_ABSOLUTE_SECONDS, tokenFingerprint } from "@/lib/auth/admin-session";
import { queryRows } from "@/lib/db/client";
import { endSession, startSession } from "@/lib/db/commands/sessions";
import { clearLoginAttempts, countLoginAttempt, LOGIN_LIMITS } from "@/lib/db/login-limiter";
import { cleanupAuthState, runCleanup } from "@/lib/db/maintenance";
import { retentionPolicy } from "@/lib/db/retention";
import { envSchema } from "@/lib/env";
import { findSession } from "@/lib/db/sessions";
import { describeOnDatabases } from "../support/db";

/**
 * Server-side sessions and the shared login limiter on a real database, with `now` passed in:
 * each test tries to keep a session alive past its end, or to get more guesses than the limit.
 */

const TOKEN = "admin-token-0123456789abcdef";
const T0 = Date.parse("2026-11-24T09:00:00Z");
const at = (ms: number) => new Date(T0 + ms);
const seconds = (n: number) => n * 1000;
const minutes = (n: number) => n * 60_000;
const ADMIN = { name: "admin", via: "cookie" as const, ip: "203.0.113.7" };

describeOnDatabases("admin sessions", (ctx) => {
  /** A stored session started at T0 + `startMs` under `token`; its cookie value and id. */
  const login = async (startMs = 0, token = TOKEN) => {
    const cookie = newSession(T0 + startMs);
    await startSession(ctx.db, ADMIN, sessionRowFor(cookie, { actor: "admin", role: "admin" }, token, { ip: ADMIN.ip, userAgent: "x".repeat(500) }));
    return { value: signSession(cookie, token), sid: cookie.sid };
  };
  const check = (value: string, ms: number, background = false, token = TOKEN) => checkSession(ctx.db, value, token, { now: at(ms), background });

  it("stores the row: id = the cookie's sid, the token's fingerprint (never the token), the user agent cut", async () => {
    const { sid } = await login();
    const row = await findSession(ctx.db, sid);
    expect(row).toMatchObject({ id: sid, actor: "admin", ipAddress: ADMIN.ip, revokedAt: null, tokenFingerprint: tokenFingerprint(TOKEN) });
    expect(row!.expiresAt.getTime() - row!.createdAt.getTime()).toBe(SESSION_ABSOLUTE_SECONDS * 1000);
    expect(row!.userAgent).toHaveLength(200);
    const [raw] = await queryRows<Record<string, unknown>>(ctx.db, sql`SELECT * FROM cron_admin_sessions WHERE id = ${sid}`);
    expect(JSON.stringify(raw)).not.toContain(TOKEN);
  });

  it("background requests every 3 s do not keep a session alive past 30 idle minutes", async () => {
    const { value } = await login();
    let ms = 0;
    // The running-jobs poll for 30 minutes: every check passes, none moves last_seen_at...
    for (ms = seconds(3); ms <= minutes(30); ms += seconds(3)) {
      const r = await check(value, ms, true);
      if (!r.ok) throw new Error(`refused at ${ms / 1000}s: ${r.reason}`);
      expect(r.session.lastSeenAt.getTime()).toBe(T0);
    }
    // ...so the next one, past the idle limit, is refused, and the row is marked idle.
    expect(await check(value, minutes(30) + seconds(3), true)).toEqual({ ok: false, reason: "idle_expired" });
    // A user request after that does not bring it back.
    expect(await check(value, minutes(30) + seconds(4), false)).toEqual({ ok: false, reason: "idle_expired" });
  });

  it("user requests do keep it alive (one write a minute at most), until the absolute 8 hours", async () => {
    const { value, sid } = await login();
    // Two requests within the same minute: the second writes nothing.
    expect(await check(value, seconds(61))).toMatchObject({ ok: true });
    expect((await findSession(ctx.db, sid))!.lastSeenAt.getTime()).toBe(T0 + seconds(61));
    expect(await check(value, seconds(90))).toMatchObject({ ok: true });
    expect((await findSession(ctx.db, sid))!.lastSeenAt.getTime()).toBe(T0 + seconds(61));
    // A user every 20 minutes, with background polls in between: alive all day...
    for (let ms = minutes(20); ms < SESSION_ABSOLUTE_SECONDS * 1000; ms += minutes(20)) {
      expect((await check(value, ms - minutes(10), true)).ok).toBe(true);
      const r = await check(value, ms);
      expect(r.ok, `at ${ms / 60_000} min`).toBe(true);
    }
    // ...but not past 8 hours from the login, whatever the activity.
    expect(await check(value, SESSION_ABSOLUTE_SECONDS * 1000)).toEqual({ ok: false, reason: "expired" });
  });

  it("logout revokes the row: a copy of the cookie is refused afterwards; the audit rows carry the session id", async () => {
    const { value, sid } = await login();
    expect((await check(value, seconds(5))).ok).toBe(true);
    expect(await endSession(ctx.db, { ...ADMIN, session: sid }, at(seconds(10)))).toBe(true);
    expect(await check(value, seconds(11))).toEqual({ ok: false, reason: "revoked" });
    expect(await findSession(ctx.db, sid)).toMatchObject({ revokedReason: "logout", revokedAt: at(seconds(10)) });
    const audit = await queryRows<{ action: string; session_id: string | null }>(ctx.db, sql`SELECT action, session_id FROM cron_audit_log WHERE session_id = ${sid} ORDER BY id`);
    expect(audit).toEqual([
      { action: "session.login", session_id: sid },
      { action: "session.logout", session_id: sid },
    ]);
  });

  it("a session made under an older ADMIN_TOKEN is refused and marked revoked when its cookie is seen, and at the next login", async () => {
    const old = await login(0, "old-admin-token-0123456789");
    const other = await login(0, "old-admin-token-0123456789");
    expect((await check(old.value, seconds(5), false, "old-admin-token-0123456789")).ok).toBe(true);
    // The token changes: the old cookie is refused, and both old rows end.
    expect(await check(old.value, seconds(6))).toEqual({ ok: false, reason: "token_rotated" });
    expect(await findSession(ctx.db, other.sid)).toMatchObject({ revokedReason: "token_rotated" });
    // Even if the old token came back, those sessions stay ended.
    expect(await check(other.value, seconds(7), false, "old-admin-token-0123456789")).toEqual({ ok: false, reason: "token_rotated" });
    // A login under the new token marks any older session it finds.
    const third = await login(0, "another-old-token-0123456789");
    await login(seconds(8));
    expect(await findSession(ctx.db, third.sid)).toMatchObject({ revokedReason: "token_rotated" });
  });

  it("a check reads the row once, and writes last_seen_at only when it is due (at most once a minute)", async () => {
    const { value } = await login();
    const statements: string[] = [];
    // The same database, with every statement it is sent recorded.
    const counted = new Proxy(ctx.db, {
      get(target, key, receiver) {
        const member = Reflect.get(target, key, receiver);
        if (key !== "execute") return typeof member === "function" ? member.bind(target) : member;
        return (query: Parameters<typeof target.execute>[0]) => {
          statements.push(key);
          return target.execute(query);
        };
      },
    });
    const countedCheck = async (ms: number, background = false) => {
      statements.length = 0;
      const r = await checkSession(counted, value, TOKEN, { now: at(ms), background });
      expect(r.ok, `at ${ms / 1000}s`).toBe(true);
      return statements.length;
    };
    // Within the minute since the login: the row is read, nothing is written.
    expect(await countedCheck(seconds(30))).toBe(1);
    // A minute on: the read and the write of last_seen_at.
    expect(await countedCheck(seconds(61))).toBe(2);
    // Right after that write: a read only again; a background request never writes.
    expect(await countedCheck(seconds(62))).toBe(1);
    expect(await countedCheck(seconds(200), true)).toBe(1);
  });

  it("refuses a cookie whose row is missing, and garbage, without a row being touched", async () => {
    expect(await check(signSession(newSession(T0), TOKEN), 0)).toEqual({ ok: false, reason: "unknown" });
    expect((await check("garbage.value", 0)).ok).toBe(false);
  });

  it("cleanup deletes sessions ended over 30 days ago and past limiter windows, keeps the rest", async () => {
    const ended = await login(0);
    await endSession(ctx.db, { ...ADMIN, session: ended.sid }, at(0));
    const live = await login(minutes(60 * 24 * 31));
    await countLoginAttempt(ctx.db, "198.51.100.1", at(0));
    const removed = await cleanupAuthState(ctx.db, at(minutes(60 * 24 * 31)));
    expect(removed.sessions).toBeGreaterThanOrEqual(1);
    expect(removed.loginAttempts).toBeGreaterThanOrEqual(1);
    expect(await findSession(ctx.db, ended.sid)).toBeNull();
    expect(await findSession(ctx.db, live.sid)).not.toBeNull();
    // The cleanup-old-logs job's function trims them too.
    const later = await login(0);
    await endSession(ctx.db, { ...ADMIN, session: later.sid }, at(0));
    const report = await runCleanup(ctx.db, retentionPolicy(envSchema.parse({}), []), { now: at(minutes(60 * 24 * 31)) });
    expect(report.auth.sessions).toBeGreaterThanOrEqual(1);
    expect(await findSession(ctx.db, later.sid)).toBeNull();
  });
});

describeOnDatabases("login limiter", (ctx) => {
  const W = Date.parse("2026-11-24T10:00:00Z");
  const tick = (ms: number) => new Date(W + ms);

  it("lets 10 attempts a minute through per address, then answers with the seconds left in the window", async () => {
    const results = [];
    for (let i = 0; i < 60; i++) results.push(await countLoginAttempt(ctx.db, "203.0.113.50", tick(i * 100)));
    expect(results.filter((r) => r.allowed)).toHaveLength(LOGIN_LIMITS.perAddress);
    expect(results[10]).toEqual({ allowed: false, scope: "address", retryAfterSeconds: 59 });
    expect(await countLoginAttempt(ctx.db, "203.0.113.50", tick(45_000))).toEqual({ allowed: false, scope: "address", retryAfterSeconds: 15 });
    // The next window starts afresh.
    expect((await countLoginAttempt(ctx.db, "203.0.113.50", tick(60_000))).allowed).toBe(true);
  });

  it("counts concurrent attempts exactly: 60 at once from one address let 10 through", async () => {
    const results = await Promise.all(Array.from({ length: 60 }, () => countLoginAttempt(ctx.db, "203.0.113.51", tick(120_000))));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
  });

  it("caps all addresses together, and one address over its limit does not use up the others' ceiling", async () => {
    const base = 180_000;
    // One noisy address: 200 attempts, only its first 10 count toward the ceiling.
    for (let i = 0; i < 200; i++) await countLoginAttempt(ctx.db, "198.51.100.9", tick(base + i));
    expect((await countLoginAttempt(ctx.db, "198.51.100.10", tick(base + 300))).allowed).toBe(true);
    // 60 distinct addresses: the ceiling stops the spread-out guesser.
    const spread = [];
    for (let i = 0; i < 60; i++) spread.push(await countLoginAttempt(ctx.db, `192.0.2.${i + 1}`, tick(base + 400 + i)));
    const allowed = spread.filter((r) => r.allowed).length;
    expect(allowed).toBe(LOGIN_LIMITS.total - 11);
    expect(spread.at(-1)).toMatchObject({ allowed: false, scope: "total" });
  });

  it("a successful login clears its address's count; an unknown address is one shared bucket", async () => {
    const base = 240_000;
    for (let i = 0; i < 9; i++) await countLoginAttempt(ctx.db, "203.0.113.60", tick(base));
    await clearLoginAttempts(ctx.db, "203.0.113.60", tick(base));
    for (let i = 0; i < 10; i++) expect((await countLoginAttempt(ctx.db, "203.0.113.60", tick(base + 1))).allowed).toBe(true);
    for (let i = 0; i < 10; i++) await countLoginAttempt(ctx.db, null, tick(base));
    expect((await countLoginAttempt(ctx.db, null, tick(base + 2))).allowed).toBe(false);
  });
});
