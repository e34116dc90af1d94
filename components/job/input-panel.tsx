import type { JobDefinition } from "@/lib/cron/define-job";

/** The job page's input panel (a server component that loads what it shows). */
export async function RunInputPanel({ job }: { job: JobDefinition }) {
  void job;
  return null;
}
