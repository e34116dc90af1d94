import type { JobDefinition } from "@/lib/cron/define-job";

/** The job page's schedule panel (a server component that loads what it shows). */
export async function SchedulePanel({ job }: { job: JobDefinition }) {
  void job;
  return null;
}
