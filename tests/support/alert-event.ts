import type { AlertEvent } from "@/lib/alerts/types";

/** The run of the sample alert. */
export const RUN_ID = "6f1c2a0e-4b7d-4c1e-9a53-0d2f8e7b1c44";

/** A sample alert: health-check's third failure in a row, with a dashboard link and details. */
export function alertEvent(overrides: Partial<AlertEvent> = {}): AlertEvent {
  return {
    kind: "failure",
    jobName: "health-check",
    category: "monitoring",
    runId: RUN_ID,
    scheduledFor: new Date("2026-03-01T09:55:00.000Z"),
    consecutiveFailures: 3,
    error: "connect ECONNREFUSED 10.0.0.7:5432",
    at: new Date("2026-03-01T09:55:04.250Z"),
    url: `https://crondeck.example.com/runs/${RUN_ID}`,
    detail: { attempts: 2, trigger: "schedule" },
    ...overrides,
  };
}
