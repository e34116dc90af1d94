import type { JobDefinition } from "@/lib/cron/define-job";

/** The job page's snooze panel (a server component that loads what it shows). */
export async function SnoozePanel({ job }: { job: JobDefinition }) {
  void job;
  return null;
}
