import type { JobDefinition } from "@/lib/cron/define-job";

/** The job page's overrides panel (a server component that loads what it shows). */
export async function OverridesPanel({ job }: { job: JobDefinition }) {
  void job;
  return null;
}
