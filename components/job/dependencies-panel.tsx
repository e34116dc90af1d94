import type { JobDefinition } from "@/lib/cron/define-job";

/** The job page's dependencies panel (a server component that loads what it shows). */
export async function DependenciesPanel({ job }: { job: JobDefinition }) {
  void job;
  return null;
}
