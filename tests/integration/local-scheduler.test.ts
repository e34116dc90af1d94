import { afterAll, beforeAll, expect, it } from "vitest";
import { LocalScheduler } from "@/lib/dev/local-scheduler";
import { startRecordingServer, type RecordingServer } from "../support/recording-server";

let receiver: RecordingServer;
beforeAll(async () => {
  receiver = await startRecordingServer({ status: 200 });
});
afterAll(async () => {
  await receiver?.close();
});

it("calls a cron path with the headers Vercel Cron sends", async () => {
  const lines: string[] = [];
  const scheduler = new LocalScheduler({ crons: [], baseUrl: receiver.url, secret: "local-secret-0123456789", log: (l) => lines.push(l) });
  const status = await scheduler.fire({ path: "/api/cron/execute/health-check", schedule: "*/5 * * * *" });
  expect(status).toBe(200);
  const [request] = receiver.requests;
  expect(request.method).toBe("GET");
  expect(request.path).toBe("/api/cron/execute/health-check");
  expect(request.headers.authorization).toBe("Bearer local-secret-0123456789");
  expect(request.headers["user-agent"]).toBe("vercel-cron/1.0");
  expect(request.headers["x-vercel-cron-schedule"]).toBe("*/5 * * * *");
  expect(lines[0]).toContain("GET /api/cron/execute/health-check -> 200");
});
