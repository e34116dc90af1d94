import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { serverUrl } from "../support/db";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";
import { describeFaults, sleep } from "./harness";

/** The fault proxy itself, against the real Postgres server: each fault does what it says. */

describeFaults("faults: the TCP proxy", () => {
  let proxy: TcpProxy;
  const clients: pg.Client[] = [];
  const connect = async () => {
    const client = new pg.Client({ connectionString: proxy.url(serverUrl()!), connectionTimeoutMillis: 3_000 });
    client.on("error", () => {});
    clients.push(client);
    await client.connect();
    return client;
  };
  beforeAll(async () => {
    const target = new URL(serverUrl()!);
    proxy = await startTcpProxy({ target: { host: target.hostname, port: Number(target.port || 5432) } });
  });
  afterAll(async () => {
    for (const client of clients) await client.end().catch(() => {});
    await proxy?.close();
  });

  it("passes traffic, and resets every open connection on reset()", async () => {
    const client = await connect();
    expect((await client.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    proxy.reset();
    await expect(client.query("SELECT 1")).rejects.toThrow();
    const next = await connect();
    expect((await next.query("SELECT 2 AS two")).rows).toEqual([{ two: 2 }]);
  });

  it("refuses new connections until heal()", async () => {
    proxy.refuse();
    await expect(connect()).rejects.toThrow();
    proxy.heal();
    const client = await connect();
    expect((await client.query("SELECT 3 AS three")).rows).toEqual([{ three: 3 }]);
  });

  it("black-holes both directions, then delivers what it held on heal()", async () => {
    const client = await connect();
    proxy.blackhole();
    let answered = false;
    const pending = client.query("SELECT 4 AS four").then((r) => ((answered = true), r.rows));
    await sleep(500);
    expect(answered).toBe(false);
    proxy.heal();
    expect(await pending).toEqual([{ four: 4 }]);
  });

  it("a partition drops what is sent and resets its connections on heal()", async () => {
    const client = await connect();
    proxy.partition();
    const pending = client.query("SELECT 5").then(() => "answered", () => "failed");
    await sleep(300);
    proxy.heal();
    expect(await pending).toBe("failed");
  });

  it("drops the reply to a matching request after the server did it", async () => {
    const client = await connect();
    const direct = new pg.Client({ connectionString: serverUrl() });
    const table = `tcp_proxy_probe_${process.pid}_${Date.now()}`;
    await direct.connect();
    try {
      await client.query(`CREATE TABLE ${table} (n int)`);
      const dropped = proxy.dropNextReply(`${table} VALUES`);
      const outcome = client.query(`INSERT INTO ${table} VALUES (7)`).then(() => "answered", () => "failed");
      expect(await dropped).toContain(table);
      expect(await outcome).toBe("failed");
      expect((await direct.query(`SELECT n FROM ${table}`)).rows).toEqual([{ n: 7 }]);
    } finally {
      await direct.query(`DROP TABLE IF EXISTS ${table}`);
      await direct.end();
    }
  });

  it("holds a matching request in flight: heal() delivers it, reset() loses it", async () => {
    const client = await connect();
    const held = proxy.holdNextRequest("held_probe");
    let answered = false;
    const pending = client.query("SELECT 'held_probe' AS p").then((r) => ((answered = true), r.rows));
    await held;
    await sleep(200);
    expect(answered).toBe(false);
    proxy.heal();
    expect(await pending).toEqual([{ p: "held_probe" }]);
    const again = proxy.holdNextRequest("held_probe");
    const lost = client.query("SELECT 'held_probe'").then(() => "answered", () => "failed");
    await again;
    proxy.reset();
    expect(await lost).toBe("failed");
    expect(proxy.stats.droppedReplies).toBe(1);
  });
});
