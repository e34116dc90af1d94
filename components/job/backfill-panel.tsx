import type { JobDefinition } from "@/lib/cron/define-job";

/** The job page's backfill panel (a server component that loads what it shows). */
export async function BackfillPanel({ job }: { job: JobDefinition }) {
  void job;
  return null;
}
