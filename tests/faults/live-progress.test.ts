import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { describeFaults, useLab } from "./harness";

/**
 * A crash keeps the log up to the crash (issue 13 item 5): kill -9 of the `next start` that
 * runs a handler, after its first attempt failed and while its second runs. The row already
 * has the first attempt's record and the engine's line about it (written with a heartbeat,
 * not by the finish, which never came); after the lease and a tick the run is abandoned and
 * still has them, and its page and the admin API show them on another instance.
 */

const ADMIN_TOKEN = `live-admin-${randomUUID()}`;
const FAILED_LINE = "attempt 1 failed: fault job: attempt 1 fails as told";

interface Line {
  at: string;
  message: string;
}

describeFaults("faults: live progress through a kill -9", () => {
  const lab = useLab();

  it("kill -9 mid-run: the row keeps the lines and attempts written before the crash, and the abandoned run's page and API show them", async () => {
    const l = lab();
    const env = { ADMIN_TOKEN };
    const [survivor, victim] = await Promise.all([l.start("survivor", { env }), l.start("victim", { env })]);
    // Attempt 1 works 4.5 s and fails; attempt 2 works 4.5 s too (the timeout is 5 s), long enough to be killed inside.
    await l.behave("fault-retry", { holdMs: 4_500, failAttempts: 1 });
    const since = await l.now();
    const pending = l.trigger(victim, "fault-retry", { method: "POST" });
    const second = await l.waitForHandler("fault-retry", since, (row) => row.attempt === 2 && row.pid === victim.pid);
    const runId = second.run_id;
    // The first attempt's line reaches the row with a heartbeat, within about 2 s (the engine's flush).
    let last: unknown = null;
    const before = await l.waitFor(
      "the first attempt's line on the running row",
      async () => {
        const [row] = await l.query<{ status: string; log_lines: Line[] | null; attempt_details: Array<{ attempt: number; error?: string }> | null }>(
          "SELECT status, log_lines, attempt_details FROM cron_job_logs WHERE id = $1::uuid",
          [runId],
        );
        last = row;
        return row?.status === "started" && row.log_lines?.some((x) => x.message === FAILED_LINE) ? row : null;
      },
      8_000,
      25,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; the row: ${JSON.stringify(last)}; the victim said: ${victim.output().slice(-2_000)}`);
    });
    await l.kill(victim);
    const answer = await pending;
    expect(answer.status, "the killed instance could not answer").toBeNull();
    expect(before.attempt_details).toEqual([expect.objectContaining({ attempt: 1, error: "fault job: attempt 1 fails as told" })]);

    // The lease runs out, the tick sweeps: abandoned, with the lines from before the crash.
    const tick = await l.settle(survivor);
    expect(tick.status, JSON.stringify(tick.body)).toBeLessThan(500);
    const [after] = await l.query<{ status: string; log_lines: Line[]; attempt_details: Array<{ attempt: number }> }>(
      "SELECT status, log_lines, attempt_details FROM cron_job_logs WHERE id = $1::uuid",
      [runId],
    );
    expect(after.status).toBe("abandoned");
    expect(after.log_lines.slice(0, before.log_lines!.length)).toEqual(before.log_lines);
    expect(after.log_lines.filter((x) => x.message === FAILED_LINE)).toHaveLength(1);
    expect(after.attempt_details.map((a) => a.attempt)).toEqual([1]);

    // The admin API and the light progress endpoint on the survivor.
    const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const run = await fetch(`${survivor.url}/api/admin/runs/${runId}`, { headers: bearer });
    const runBody = (await run.json()) as { run: { status: string; logLines: Line[] } };
    expect(run.status).toBe(200);
    expect(runBody.run).toMatchObject({ status: "abandoned" });
    expect(runBody.run.logLines.map((x) => x.message)).toContain(FAILED_LINE);
    const progress = await fetch(`${survivor.url}/api/admin/runs/${runId}/progress?since=0`, { headers: bearer });
    const progressBody = (await progress.json()) as { progress: { status: string; logCount: number; logLines: Line[]; attemptDetails: unknown[] } };
    expect(progress.status).toBe(200);
    expect(progressBody.progress).toMatchObject({ status: "abandoned", logCount: after.log_lines.length });
    expect(progressBody.progress.logLines).toEqual(after.log_lines);
    const tail = await fetch(`${survivor.url}/api/admin/runs/${runId}/progress?since=${after.log_lines.length}`, { headers: bearer });
    expect(((await tail.json()) as { progress: { logLines: Line[] } }).progress.logLines).toEqual([]);
    // Bad input says what is wrong; an unknown run is a 404; no admin credential, a 401.
    const bad = await fetch(`${survivor.url}/api/admin/runs/${runId}/progress?since=-1`, { headers: bearer });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain("since");
    const unknown = await fetch(`${survivor.url}/api/admin/runs/${randomUUID()}/progress`, { headers: bearer });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { code: string }).code).toBe("run_not_found");
    expect((await fetch(`${survivor.url}/api/admin/runs/${runId}/progress`)).status).toBe(401);

    // The run's page (the job page with ?run=) shows them too.
    const login = await fetch(`${survivor.url}/api/admin/session`, {
      method: "POST",
      headers: { origin: survivor.url, "content-type": "application/json" },
      body: JSON.stringify({ token: ADMIN_TOKEN }),
    });
    expect(login.status).toBe(200);
    const cookie = login.headers.getSetCookie()[0].split(";")[0];
    const page = await fetch(`${survivor.url}/dashboard/admin/cron-jobs/fault-retry?run=${runId}`, { headers: { cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(FAILED_LINE);
    expect(html).toContain("fault job: attempt 1 fails as told");
  });
});
