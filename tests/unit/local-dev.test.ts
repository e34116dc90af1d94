import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ensureLocalSecrets, readEnvFile } from "@/lib/dev/env-file";
import { LocalScheduler } from "@/lib/dev/local-scheduler";

describe("first-run .env.local", () => {
  const file = () => join(mkdtempSync(join(tmpdir(), "crondeck-env-")), ".env.local");
  let n = 0;
  const gen = () => `generated-${++n}-0123456789abcdef`;

  it("creates the file with a random CRON_SECRET and ADMIN_TOKEN", () => {
    const path = file();
    const { added, values } = ensureLocalSecrets(path, {}, gen);
    expect(added).toEqual(["CRON_SECRET", "ADMIN_TOKEN"]);
    expect(readEnvFile(path)).toEqual(new Map([["CRON_SECRET", values.CRON_SECRET], ["ADMIN_TOKEN", values.ADMIN_TOKEN]]));
    expect(values.CRON_SECRET).not.toBe(values.ADMIN_TOKEN);
  });

  it("never overwrites a value already in the file or in the environment, and keeps the rest of the file", () => {
    const path = file();
    writeFileSync(path, "# mine\nCRON_SECRET='kept-secret-value-123456'\nDATABASE_URL=postgres://x@y/z");
    const { added, values } = ensureLocalSecrets(path, { ADMIN_TOKEN: "from-the-environment-123456" }, gen);
    expect(added).toEqual([]);
    expect(values).toEqual({ CRON_SECRET: "kept-secret-value-123456", ADMIN_TOKEN: "from-the-environment-123456" });
    expect(readFileSync(path, "utf8")).toBe("# mine\nCRON_SECRET='kept-secret-value-123456'\nDATABASE_URL=postgres://x@y/z");

    const second = file();
    writeFileSync(second, "CRON_SECRET=kept-secret-value-123456");
    expect(ensureLocalSecrets(second, {}, gen).added).toEqual(["ADMIN_TOKEN"]);
    expect(readFileSync(second, "utf8")).toMatch(/^CRON_SECRET=kept-secret-value-123456\nADMIN_TOKEN=generated-\d+-0123456789abcdef\n$/);
    expect(ensureLocalSecrets(second, {}, gen).added).toEqual([]);
  });
});

describe("local scheduler (fake clock)", () => {
  const crons = [
    { path: "/api/cron/tick", schedule: "* * * * *" },
    { path: "/api/cron/execute/health-check", schedule: "*/5 * * * *" },
  ];

  it("fires each cron once per slot, and not for slots before it started", () => {
    let now = new Date("2026-11-24T10:02:30Z");
    const scheduler = new LocalScheduler({ crons, baseUrl: "http://localhost:3000", secret: "s", now: () => now });
    expect(scheduler.takeDue()).toEqual([]);
    now = new Date("2026-11-24T10:02:59Z");
    expect(scheduler.takeDue()).toEqual([]);
    now = new Date("2026-11-24T10:03:00Z");
    expect(scheduler.takeDue().map((c) => c.path)).toEqual(["/api/cron/tick"]);
    expect(scheduler.takeDue()).toEqual([]);
    now = new Date("2026-11-24T10:05:01Z");
    expect(scheduler.takeDue().map((c) => c.path)).toEqual(["/api/cron/tick", "/api/cron/execute/health-check"]);
  });

  it("after a pause (laptop asleep) fires once for the latest slot, like Vercel Cron which never backfills", () => {
    let now = new Date("2026-11-24T10:00:10Z");
    const scheduler = new LocalScheduler({ crons, baseUrl: "http://localhost:3000", secret: "s", now: () => now });
    now = new Date("2026-11-24T11:17:00Z");
    expect(scheduler.takeDue().map((c) => c.path)).toEqual(["/api/cron/tick", "/api/cron/execute/health-check"]);
    expect(scheduler.takeDue()).toEqual([]);
  });

  it("a clock that goes backwards fires nothing twice", () => {
    let now = new Date("2026-11-24T10:00:10Z");
    const scheduler = new LocalScheduler({ crons, baseUrl: "http://localhost:3000", secret: "s", now: () => now });
    now = new Date("2026-11-24T10:01:00Z");
    expect(scheduler.takeDue()).toHaveLength(1);
    now = new Date("2026-11-24T10:00:30Z");
    expect(scheduler.takeDue()).toEqual([]);
    now = new Date("2026-11-24T10:01:30Z");
    expect(scheduler.takeDue()).toEqual([]);
  });
});
