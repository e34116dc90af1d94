import { createServer, type IncomingMessage, type Server } from "node:http";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LocalScheduler, registryFetcher, ScheduleFollower, schedulerCrons, type RegistryJob } from "@/lib/dev/local-scheduler";

/**
 * The local scheduler follows vercel.json and the running app's registry: a job added while
 * `npm run dev` runs is fired on its schedule without a restart. A local HTTP server stands in
 * for the dev server (GET /api/cron/jobs answers the registry; every other GET is recorded).
 */
const SECRET = "follow-test-secret-0123456789";
let server: Server;
let baseUrl: string;
let registry: RegistryJob[] | "down" = [];
let calls: Array<{ path: string; auth: string | undefined; schedule: string | undefined; agent: string | undefined }> = [];

const job = (name: string, schedule: string, dispatch: "vercel" | "tick" = "vercel"): RegistryJob => ({ name, schedule, timezone: "UTC", dispatch, category: "general" });

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/api/cron/jobs") {
      if (registry === "down") return void res.writeHead(500, { "content-type": "text/html" }).end("<html>compile error</html>");
      if (req.headers.authorization !== `Bearer ${SECRET}`) return void res.writeHead(401).end("{}");
      return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ total: registry.length, jobs: registry }));
    }
    calls.push({ path, auth: req.headers.authorization, schedule: req.headers["x-vercel-cron-schedule"] as string | undefined, agent: req.headers["user-agent"] });
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ success: true, execution: { status: "completed" } }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  calls = [];
  registry = [job("health-check", "*/5 * * * *")];
});

function setup(vercelCrons: unknown) {
  const dir = mkdtempSync(join(tmpdir(), "crondeck-follow-"));
  const file = join(dir, "vercel.json");
  const writeVercel = (crons: unknown) => writeFileSync(file, typeof crons === "string" ? crons : JSON.stringify({ crons }));
  writeVercel(vercelCrons);
  const clock = { now: new Date("2026-11-24T10:00:30Z") };
  const lines: string[] = [];
  const changes: Array<Array<{ path: string; schedule: string }>> = [];
  const scheduler = new LocalScheduler({ crons: [], baseUrl, secret: SECRET, now: () => clock.now, log: (l) => lines.push(l) });
  const follower = new ScheduleFollower({
    scheduler,
    readVercelCrons: () => (JSON.parse(readFileSync(file, "utf8")) as { crons: never[] }).crons,
    fetchRegistry: registryFetcher(baseUrl, SECRET),
    log: (l) => lines.push(l),
    onChange: (crons) => changes.push(crons),
  });
  /** Moves the fake clock and fires what is due, as the scheduler's timer would. */
  const advance = async (iso: string) => {
    clock.now = new Date(iso);
    await Promise.all(scheduler.takeDue().map((c) => scheduler.fire(c)));
  };
  return { scheduler, follower, lines, changes, advance, writeVercel };
}

const TICK = { path: "/api/cron/tick", schedule: "* * * * *" };
const HEALTH = { path: "/api/cron/execute/health-check", schedule: "*/5 * * * *" };

describe("local scheduler follows the registry and vercel.json", () => {
  it("picks up a job the registry gains, fires it on its schedule, says so once, and records the crons", async () => {
    const { scheduler, follower, lines, changes, advance } = setup([HEALTH, TICK]);
    await follower.refresh();
    expect(scheduler.current()).toEqual([HEALTH, TICK]);
    expect(lines).toEqual([]); // vercel.json's crons at start: the banner lists them
    expect(changes).toEqual([[HEALTH, TICK]]);

    registry = [job("health-check", "*/5 * * * *"), job("my-job", "*/2 * * * *"), job("tick-owned", "* * * * *", "tick")];
    await follower.refresh();
    await follower.refresh(); // a second poll says nothing new
    expect(lines).toEqual([
      "[crondeck] local scheduler: picked up my-job (*/2 * * * *)",
      "[crondeck] my-job is in the registry but not in vercel.json: it runs here, but not on Vercel until `npm run cron:sync`",
    ]);
    expect(changes.at(-1)).toEqual([HEALTH, TICK, { path: "/api/cron/execute/my-job", schedule: "*/2 * * * *" }]);
    expect(changes).toHaveLength(2);

    // Not for the slot before it was picked up (10:00), but for its next one (10:02).
    await advance("2026-11-24T10:01:00Z");
    expect(calls.map((c) => c.path)).toEqual(["/api/cron/tick"]);
    await advance("2026-11-24T10:02:00Z");
    expect(calls.map((c) => c.path)).toEqual(["/api/cron/tick", "/api/cron/tick", "/api/cron/execute/my-job"]);
    expect(calls[2]).toEqual({ path: "/api/cron/execute/my-job", auth: `Bearer ${SECRET}`, schedule: "*/2 * * * *", agent: "vercel-cron/1.0" });
  });

  it("drops a job the registry loses, and keeps the last registry while the app does not answer", async () => {
    const { scheduler, follower, lines, advance } = setup([HEALTH, TICK]);
    registry = [job("health-check", "*/5 * * * *"), job("my-job", "* * * * *")];
    await follower.refresh();
    expect(scheduler.current().map((c) => c.path)).toContain("/api/cron/execute/my-job");

    registry = "down"; // a compile error: the app answers HTML 500
    await follower.refresh();
    expect(scheduler.current().map((c) => c.path)).toContain("/api/cron/execute/my-job");

    registry = [job("health-check", "*/5 * * * *")];
    await follower.refresh();
    expect(scheduler.current()).toEqual([HEALTH, TICK]);
    expect(lines.at(-1)).toBe("[crondeck] local scheduler: dropped my-job (* * * * *)");
    await advance("2026-11-24T10:01:00Z");
    expect(calls.map((c) => c.path)).toEqual(["/api/cron/tick"]);
  });

  it("re-reads vercel.json: a synced job is no longer flagged, a changed schedule is followed, a broken file keeps the last crons", async () => {
    const { scheduler, follower, lines, writeVercel } = setup([HEALTH, TICK]);
    registry = [job("health-check", "*/5 * * * *"), job("my-job", "*/2 * * * *")];
    await follower.refresh();
    const MY = { path: "/api/cron/execute/my-job", schedule: "*/2 * * * *" };
    writeVercel([HEALTH, MY, TICK]); // npm run cron:sync
    lines.length = 0;
    await follower.refresh();
    expect(lines).toEqual([]);
    expect(scheduler.current()).toEqual([HEALTH, MY, TICK]);

    writeVercel([HEALTH, MY, { path: "/api/cron/tick", schedule: "0 0 * * *" }]);
    await follower.refresh();
    expect(lines).toEqual(["[crondeck] local scheduler: picked up the tick (0 0 * * *)", "[crondeck] local scheduler: dropped the tick (* * * * *)"]);

    writeVercel("{ not json");
    lines.length = 0;
    await follower.refresh();
    await follower.refresh();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[crondeck\] local scheduler: cannot read vercel.json \(.+\); keeping the crons it had$/);
    expect(scheduler.current()).toEqual([HEALTH, MY, { path: "/api/cron/tick", schedule: "0 0 * * *" }]);
  });

  it("a wrong secret or no server is no registry, not an empty one", async () => {
    expect(await registryFetcher(baseUrl, "wrong-secret-0123456789")()).toBeNull();
    expect(await registryFetcher("http://127.0.0.1:1", SECRET)()).toBeNull();
    expect(await registryFetcher(baseUrl, SECRET)()).toEqual([job("health-check", "*/5 * * * *")]);
  });

  it("schedulerCrons: vercel.json first, then the vercel-dispatched jobs it lacks; tick-dispatched jobs ride on the tick", () => {
    const out = schedulerCrons([HEALTH, TICK], [job("health-check", "0 * * * *"), job("b", "1 * * * *"), job("t", "* * * * *", "tick")]);
    expect(out.crons).toEqual([HEALTH, TICK, { path: "/api/cron/execute/b", schedule: "1 * * * *" }]);
    expect(out.notInVercelJson.map((j) => j.name)).toEqual(["b"]);
    expect(schedulerCrons([TICK], null)).toEqual({ crons: [TICK], notInVercelJson: [] });
  });
});
