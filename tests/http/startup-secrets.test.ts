import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli";
import { runNextExpectingExit, startNextServer } from "../support/next-server";

/**
 * What `next start` (and `crondeck doctor`) say about the secrets at start-up: one value for
 * two doors stops the server with a message naming both variables and the fix; a guessable
 * secret starts the server with a warning naming it. Neither message shows a secret's value.
 */


const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "crondeck-startup-"));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("start-up secret checks", () => {
  it("refuses to start with CRON_SECRET equal to ADMIN_TOKEN, naming both and the fix, not the value", async () => {
    const shared = randomBytes(32).toString("hex");
    const result = await runNextExpectingExit({ env: { PGLITE_DIR: freshDir(), CRON_SECRET: shared, ADMIN_TOKEN: shared } });
    expect(result.code).toBe(1);
    expect(result.output).toContain("CRON_SECRET must not equal ADMIN_TOKEN");
    expect(result.output).toContain("openssl rand -hex 32");
    expect(result.output).toContain("Crondeck cannot start until these are fixed.");
    expect(result.output).not.toContain(shared);
  });

  it("refuses ALERT_WEBHOOK_SECRET equal to the cron secret", async () => {
    const shared = randomBytes(32).toString("hex");
    const result = await runNextExpectingExit({ env: { PGLITE_DIR: freshDir(), CRON_SECRET: shared, ADMIN_TOKEN: randomBytes(32).toString("hex"), ALERT_WEBHOOK_SECRET: shared } });
    expect(result.code).toBe(1);
    expect(result.output).toContain("ALERT_WEBHOOK_SECRET must not equal CRON_SECRET");
    expect(result.output).not.toContain(shared);
  });

  it("starts with a guessable secret but warns about it by name, and stays quiet about strong ones", async () => {
    const weak = "passwordpassword";
    const server = await startNextServer({ env: { PGLITE_DIR: freshDir(), CRON_SECRET: weak, ADMIN_TOKEN: randomBytes(32).toString("hex") } });
    try {
      const health = await fetch(`${server.url}/api/health`);
      expect(health.status).toBeLessThan(600);
      expect(server.output()).toMatch(/\[crondeck\] WARNING: CRON_SECRET looks easy to guess \(about \d+ bits of entropy/);
      expect(server.output()).not.toContain("ADMIN_TOKEN looks easy");
      expect(server.output()).not.toContain(weak);
    } finally {
      await server.stop();
    }
  });

  it("crondeck doctor lists a guessable secret as a warning", async () => {
    const result = await runCli(["doctor", "--json"], { env: { PGLITE_DIR: freshDir(), DATABASE_URL: "", CRON_SECRET: randomBytes(32).toString("hex"), ADMIN_TOKEN: "1234567890123456" } });
    expect(result.json?.config, result.stdout + result.stderr).toEqual(expect.arrayContaining([expect.objectContaining({ severity: "warning", code: "weak_secret", message: expect.stringMatching(/^ADMIN_TOKEN looks easy to guess/) })]));
    expect(result.json.config.filter((f: { code: string }) => f.code === "weak_secret")).toHaveLength(1);
    expect(result.stdout).not.toContain("1234567890123456");
  });
});
