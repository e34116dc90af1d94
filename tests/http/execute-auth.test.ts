import { randomBytes } from "node:crypto";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawRequest } from "../support/http";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { startNextServer, type NextServer } from "../support/next-server";

/**
 * Who may trigger a job, and what happens when the database is gone: over real HTTP against
 * `next start` on a fresh database of the Postgres server. A refused request writes nothing
 * and touches no lease; an unreachable store answers 503 without running anything.
 */


const SECRET = `crondeck-${randomBytes(24).toString("hex")}`; // 57 characters
const NOT_CONFIGURED_PREVIOUS = `previous-${randomBytes(20).toString("hex")}`;
const ROTATED_CURRENT = `current-${randomBytes(20).toString("hex")}`;
const ROTATED_PREVIOUS = `previous-${randomBytes(20).toString("hex")}`;
const DB_PASSWORD = "pw";

interface Reply {
  status: number;
  text: string;
  body: any;
  contentType: string | null;
  location: string | null;
}

/**
 * node:http rather than fetch: an array value sends the header twice (fetch would merge the
 * values into one), and a value is sent byte for byte (latin1), so UTF-8 lookalikes arrive
 * the way a real client would send them.
 */
function send(base: string, path: string, method: string, headers: Record<string, string | string[]>): Promise<Reply> {
  return rawRequest(base, method, path, { headers });
}

/** A JS string sent as its UTF-8 bytes in a header. */
const utf8 = (value: string) => Buffer.from(value, "utf8").toString("latin1");
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

type Variant = { name: string; headers: Record<string, string | string[]> };

/** At least 100 ways to not present the secret. */
function refusedCorpus(secret: string): Variant[] {
  const v: Variant[] = [];
  const seen = new Set<string>();
  // A random secret can make two edits equal (deleting either of two equal neighbours): keep one.
  const add = (name: string, headers: Record<string, string | string[]>) => {
    const key = JSON.stringify(headers);
    if (!seen.has(key)) v.push({ name, headers });
    seen.add(key);
  };
  const auth = (name: string, value: string | string[]) => add(name, { authorization: value });

  // Missing, empty, scheme only.
  add("no authorization header", {});
  auth("empty", "");
  auth("Bearer", "Bearer");
  auth("Bearer + space", "Bearer ");
  auth("Bearer + two spaces", "Bearer  ");
  auth("just the secret", secret);
  auth("secret then Bearer", `${secret} Bearer`);
  // Wrong scheme.
  auth("Basic user:secret", `Basic ${Buffer.from(`cron:${secret}`).toString("base64")}`);
  auth("Basic :secret", `Basic ${Buffer.from(`:${secret}`).toString("base64")}`);
  auth("Basic secret", `Basic ${secret}`);
  auth("Token", `Token ${secret}`);
  auth("lowercase bearer", `bearer ${secret}`);
  auth("uppercase BEARER", `BEARER ${secret}`);
  auth("Bearer:", `Bearer:${secret}`);
  auth("Bearer=", `Bearer=${secret}`);
  auth("Bearer-", `Bearer-${secret}`);
  auth("Bearer, no space", `Bearer${secret}`);
  auth("Digest", `Digest username="cron", response="${secret}"`);
  // Right scheme, wrong token.
  auth("other random secret", `Bearer ${randomBytes(28).toString("hex")}`);
  auth("CRON_SECRET_PREVIOUS value, not configured", `Bearer ${NOT_CONFIGURED_PREVIOUS}`);
  auth("upper-cased secret", `Bearer ${secret.toUpperCase()}`);
  auth("base64 of the secret", `Bearer ${Buffer.from(secret).toString("base64")}`);
  auth("quoted secret", `Bearer "${secret}"`);
  auth("secret twice", `Bearer ${secret}${secret}`);
  auth("secret, space, secret", `Bearer ${secret} ${secret}`);
  auth("comma-merged duplicate", `Bearer ${secret}, Bearer ${secret}`);
  auth("trailing comma", `Bearer ${secret},`);
  auth("extra word after", `Bearer ${secret} x`);
  auth("extra word before", `Bearer x ${secret}`);
  auth("a 'token=' parameter", `Bearer token=${secret}`);
  // Prefixes and suffixes.
  auth("prefix: all but the last char", `Bearer ${secret.slice(0, -1)}`);
  auth("prefix: half", `Bearer ${secret.slice(0, secret.length >> 1)}`);
  auth("prefix: one char", `Bearer ${secret[0]}`);
  auth("suffix: all but the first char", `Bearer ${secret.slice(1)}`);
  auth("suffix: half", `Bearer ${secret.slice(secret.length >> 1)}`);
  auth("secret + one char", `Bearer ${secret}x`);
  auth("one char + secret", `Bearer x${secret}`);
  // Very long tokens.
  auth("10 KB token", `Bearer ${"A".repeat(10 * 1024)}`);
  auth("10 KB token starting with the secret", `Bearer ${secret}${"a".repeat(10 * 1024)}`);
  auth("1025-char token starting with the secret", `Bearer ${secret}${"a".repeat(1025 - secret.length)}`);
  // Whitespace that is part of the value (leading/trailing SP and HTAB are optional
  // whitespace in HTTP and stripped by every parser, so they are not a different header).
  auth("two spaces after Bearer", `Bearer  ${secret}`);
  auth("tab after Bearer", `Bearer\t${secret}`);
  auth("tab + space", `Bearer \t${secret}`);
  auth("NBSP before the secret", utf8(`Bearer \u00a0${secret}`));
  auth("NBSP after the secret", utf8(`Bearer ${secret}\u00a0`));
  auth("latin1 NBSP byte after the secret", `Bearer ${secret}\u00a0`);
  auth("ideographic space before the secret", utf8(`Bearer \u3000${secret}`));
  auth("zero-width space inside", utf8(`Bearer ${secret.slice(0, 10)}\u200b${secret.slice(10)}`));
  auth("BOM before the secret", utf8(`Bearer \ufeff${secret}`));
  // Unicode lookalikes.
  auth("Cyrillic В in Bearer", utf8(`\u0412earer ${secret}`));
  auth("Cyrillic е in Bearer", utf8(`B\u0435arer ${secret}`));
  const lookalikes: Array<[string, string]> = [
    ["c", "\u0441"], // Cyrillic es
    ["e", "\u0435"], // Cyrillic ie
    ["o", "\u043e"], // Cyrillic o
    ["a", "\u0430"], // Cyrillic a
    ["d", "\u0501"], // Cyrillic komi de
    ["-", "\u2010"], // hyphen
    ["0", "\uff10"], // fullwidth zero
    ["1", "\u0661"], // Arabic-Indic one
  ];
  for (const [plain, lookalike] of lookalikes) {
    const at = secret.indexOf(plain);
    if (at >= 0) auth(`lookalike ${JSON.stringify(lookalike)} for "${plain}"`, utf8(`Bearer ${secret.slice(0, at)}${lookalike}${secret.slice(at + 1)}`));
  }
  auth("fullwidth secret", utf8(`Bearer ${[...secret].map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join("")}`));
  // Off by one character at every position.
  const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz-";
  for (let i = 0; i < secret.length; i++) {
    const replacement = alphabet[(alphabet.indexOf(secret[i]) + 1) % alphabet.length];
    auth(`off by one at ${i}`, `Bearer ${secret.slice(0, i)}${replacement}${secret.slice(i + 1)}`);
  }
  for (let i = 1; i <= 12; i++) auth(`char ${i} deleted`, `Bearer ${secret.slice(0, i)}${secret.slice(i + 1)}`);
  for (let i = 0; i < 12; i++) auth(`char inserted at ${i}`, `Bearer ${secret.slice(0, i)}z${secret.slice(i)}`);
  // The header twice (node keeps the first Authorization; the second must not rescue a wrong first).
  auth("twice: wrong then right", ["Bearer wrong", `Bearer ${secret}`]);
  auth("twice: empty then right", ["", `Bearer ${secret}`]);
  auth("twice: Bearer then right", ["Bearer", `Bearer ${secret}`]);
  auth("twice: scheme-less then right", [secret, `Bearer ${secret}`]);
  auth("twice: both wrong", ["Bearer a", "Bearer b"]);
  auth("twice: prefix and suffix", [`Bearer ${secret.slice(0, 20)}`, `Bearer ${secret.slice(20)}`]);
  // The secret in the wrong place.
  add("X-Authorization header", { "x-authorization": `Bearer ${secret}` });
  add("Proxy-Authorization header", { "proxy-authorization": `Bearer ${secret}` });
  add("x-cron-secret header", { "x-cron-secret": secret });
  add("cookie", { cookie: `CRON_SECRET=${secret}` });
  add("x-vercel-cron headers only", { "user-agent": "vercel-cron/1.0", "x-vercel-cron-schedule": "*/5 * * * *" });
  return v;
}

describeWithPostgres("refused triggers (CRON_SECRET set)", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let server: NextServer;
  let noSecret: NextServer;
  let rotating: NextServer;

  const snapshot = async () => ({
    logs: (await pool.query("SELECT count(*)::int AS n, max(created_at) AS last FROM cron_job_logs")).rows[0],
    leases: (await pool.query("SELECT * FROM cron_job_leases ORDER BY job_name")).rows,
    config: (await pool.query("SELECT * FROM cron_job_config ORDER BY job_name")).rows,
  });

  beforeAll(async () => {
    database = await createTestDatabase("postgres", { migrate: false });
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    const env = { CRON_DEMO: "1", CRON_DEMO_SLOW_MS: "100", DATABASE_URL: database.url };
    [server, noSecret, rotating] = await Promise.all([
      startNextServer({ env: { ...env, CRON_SECRET: SECRET } }),
      startNextServer({ env }),
      startNextServer({ env: { ...env, CRON_SECRET: ROTATED_CURRENT, CRON_SECRET_PREVIOUS: ROTATED_PREVIOUS } }),
    ]);
    // A real run first: the database is migrated, there is a row to count, and the helper
    // below demonstrably gets through with the right header.
    const ok = await send(server.url, "/api/cron/execute/health-check", "POST", bearer(SECRET));
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.execution.status).toBe("completed");
  });

  afterAll(async () => {
    await Promise.all([server?.stop(), noSecret?.stop(), rotating?.stop()]);
    await pool?.end();
    await database?.dispose();
  });

  it("builds a corpus of at least 100 distinct refused variants", () => {
    const corpus = refusedCorpus(SECRET);
    expect(corpus.length).toBeGreaterThanOrEqual(100);
    // None of them is the one valid header.
    expect(corpus.filter((c) => c.headers.authorization === `Bearer ${SECRET}`)).toEqual([]);
  });

  it("answers every variant with 401 JSON unauthorized, on POST, GET and the jobs API, and writes nothing", async () => {
    const corpus = refusedCorpus(SECRET);
    const before = await snapshot();
    expect(before.logs.n).toBe(1);
    const targets: Array<[string, string]> = [
      ["POST", "/api/cron/execute/health-check"],
      ["GET", "/api/cron/execute/demo-slow?trigger=schedule"],
      ["POST", "/api/cron/execute/demo-slow?trigger=schedule&slot=2026-01-01T00:00:00Z"],
      ["GET", "/api/cron/jobs"],
      ["GET", "/api/cron/jobs/health-check"],
    ];
    const failures: string[] = [];
    for (const [method, path] of targets) {
      // Ten at a time: fast, and still concurrent like a real burst.
      for (let i = 0; i < corpus.length; i += 10) {
        const batch = corpus.slice(i, i + 10);
        const replies = await Promise.all(batch.map((variant) => send(server.url, path, method, variant.headers)));
        replies.forEach((reply, j) => {
          const ok =
            reply.status === 401 &&
            /application\/json/.test(reply.contentType ?? "") &&
            reply.body?.code === "unauthorized" &&
            reply.body?.success === false &&
            !reply.text.includes(SECRET);
          if (!ok) failures.push(`${method} ${path} [${batch[j].name}] -> ${reply.status} ${reply.text.slice(0, 120)}`);
        });
      }
    }
    expect(failures).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });

  it("accepts the secret itself (the corpus is refused for what it sends, not for how it is sent)", async () => {
    const reply = await send(server.url, "/api/cron/jobs", "GET", bearer(SECRET));
    expect(reply.status).toBe(200);
    // The first of two Authorization headers is the one node hands to the app.
    const twice = await send(server.url, "/api/cron/jobs", "GET", { authorization: [`Bearer ${SECRET}`, `Bearer ${SECRET}`] });
    expect(twice.status).toBe(200);
  });

  it("a server without CRON_SECRET refuses everything with 503 cron_secret_not_configured and writes no row", async () => {
    const before = await snapshot();
    const headerSets: Array<Record<string, string | string[]>> = [
      {},
      bearer(SECRET),
      { authorization: "Bearer " },
      { authorization: "Bearer undefined" },
      { authorization: "Bearer null" },
      bearer(""),
      { authorization: "Bearer 0" },
      bearer(NOT_CONFIGURED_PREVIOUS),
    ];
    for (const headers of headerSets) {
      for (const [method, path] of [
        ["POST", "/api/cron/execute/health-check"],
        ["GET", "/api/cron/execute/demo-slow"],
        ["POST", "/api/cron/execute/no-such-job"],
        ["GET", "/api/cron/jobs"],
        ["GET", "/api/cron/jobs/health-check"],
      ]) {
        const reply = await send(noSecret.url, path, method, headers);
        const where = `${method} ${path} ${JSON.stringify(headers).slice(0, 60)}`;
        expect(reply.status, where).toBe(503);
        expect(reply.contentType, where).toMatch(/application\/json/);
        expect(reply.body, where).toMatchObject({ success: false, code: "cron_secret_not_configured" });
        expect(reply.body.error, where).toMatch(/CRON_SECRET/);
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it("while rotating, accepts both CRON_SECRET and CRON_SECRET_PREVIOUS, and nothing else", async () => {
    for (const secret of [ROTATED_CURRENT, ROTATED_PREVIOUS]) {
      const reply = await send(rotating.url, "/api/cron/execute/health-check", "POST", bearer(secret));
      expect(reply.status, reply.text).toBe(200);
      expect(reply.body).toMatchObject({ success: true, jobName: "health-check", execution: { status: "completed" } });
      const list = await send(rotating.url, "/api/cron/jobs", "GET", bearer(secret));
      expect(list.status).toBe(200);
    }
    const before = await snapshot();
    for (const wrong of [SECRET, `${ROTATED_PREVIOUS}x`, ROTATED_PREVIOUS.slice(0, -1), `${ROTATED_CURRENT}${ROTATED_PREVIOUS}`, ""]) {
      const reply = await send(rotating.url, "/api/cron/execute/health-check", "POST", bearer(wrong));
      expect(reply.status, wrong).toBe(401);
      expect(reply.body.code).toBe("unauthorized");
    }
    expect(await snapshot()).toEqual(before);
  });
});

/** A TCP proxy in front of Postgres that the test can take down and bring back on the same port. */
async function startTcpProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = createConnection(target);
        sockets.add(client).add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on("error", drop).on("close", drop);
        upstream.on("error", drop).on("close", drop);
        client.pipe(upstream).pipe(client);
      });
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  await listen();
  return {
    get port() {
      return port;
    },
    /** Closes the listener and cuts every open connection. */
    async down() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server = undefined;
    },
    up: listen,
  };
}

describeWithPostgres("the database is unreachable", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let nowhere: NextServer;
  let proxied: NextServer;
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;

  beforeAll(async () => {
    database = await createTestDatabase("postgres", { migrate: false });
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    proxy = await startTcpProxy({ host: "127.0.0.1", port: 5432 });
    const proxiedUrl = new URL(database.url!);
    proxiedUrl.port = String(proxy.port);
    proxiedUrl.password = DB_PASSWORD; // trust auth ignores it; it must still never be shown
    [nowhere, proxied] = await Promise.all([
      startNextServer({ env: { CRON_DEMO: "1", CRON_DEMO_SLOW_MS: "100", CRON_SECRET: SECRET, DATABASE_URL: `postgres://postgres:${DB_PASSWORD}@127.0.0.1:1/x` } }),
      startNextServer({ env: { CRON_DEMO: "1", CRON_DEMO_SLOW_MS: "100", CRON_SECRET: SECRET, DATABASE_URL: proxiedUrl.toString() } }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([nowhere?.stop(), proxied?.stop()]);
    await proxy?.down();
    await pool?.end();
    await database?.dispose();
  });

  const expectUnavailable = (reply: Reply, where: string) => {
    expect(reply.status, `${where}: ${reply.text}`).toBe(503);
    expect(reply.contentType, where).toMatch(/application\/json/);
    expect(reply.body, where).toMatchObject({ success: false, code: "store_unavailable" });
    expect(reply.body.error, where).toEqual(expect.any(String));
    expect(reply.text, where).not.toContain("postgres://");
    expect(reply.text, where).not.toContain(DB_PASSWORD);
    expect(reply.text, where).not.toContain("127.0.0.1");
    expect(reply.text, where).not.toMatch(/\n\s+at /);
  };

  it("nothing listening: POST and GET answer 503 store_unavailable quickly and leak no connection string", async () => {
    for (const [method, path] of [
      ["POST", "/api/cron/execute/health-check"],
      ["GET", "/api/cron/execute/health-check"],
      ["POST", "/api/cron/execute/demo-slow?trigger=schedule&slot=2026-01-01T00:00:00Z"],
      ["GET", "/api/cron/jobs/health-check"],
    ]) {
      const t0 = Date.now();
      const reply = await send(nowhere.url, path, method, bearer(SECRET));
      expect(Date.now() - t0).toBeLessThan(10_000);
      expectUnavailable(reply, `${method} ${path}`);
    }
    // Auth and the job lookup come first and need no database.
    expect((await send(nowhere.url, "/api/cron/execute/health-check", "POST", {})).status).toBe(401);
    expect((await send(nowhere.url, "/api/cron/execute/nope", "POST", bearer(SECRET))).status).toBe(404);
    expect((await send(nowhere.url, "/api/cron/jobs", "GET", bearer(SECRET))).status).toBe(200);
    expect(nowhere.output()).not.toContain(`:${DB_PASSWORD}@`);
  });

  it("the database goes away mid-life: 503 and no run recorded; it comes back: the next trigger runs", async () => {
    const count = async () => Number((await pool.query("SELECT count(*)::int AS n FROM cron_job_logs")).rows[0].n);
    const first = await send(proxied.url, "/api/cron/execute/health-check", "POST", bearer(SECRET));
    expect(first.status, first.text).toBe(200); // migrated and ran through the proxy
    expect(await count()).toBe(1);

    await proxy.down();
    for (const [method, path] of [
      ["POST", "/api/cron/execute/health-check"],
      ["POST", "/api/cron/execute/demo-slow"],
      ["GET", "/api/cron/execute/demo-slow"],
    ]) {
      expectUnavailable(await send(proxied.url, path, method, bearer(SECRET)), `${method} ${path}`);
    }

    await proxy.up();
    // Nothing was claimed while the database was gone, so no handler ran and no lease is left over.
    expect(await count()).toBe(1);
    expect((await pool.query("SELECT * FROM cron_job_leases")).rows).toEqual([]);
    const back = await send(proxied.url, "/api/cron/execute/health-check", "POST", bearer(SECRET));
    expect(back.status, back.text).toBe(200);
    expect(back.body.execution.status).toBe("completed");
    expect(await count()).toBe(2);
    expect(proxied.output()).not.toContain(`:${DB_PASSWORD}@`);
  });
});
