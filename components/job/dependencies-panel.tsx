import Link from "next/link";
import { jobDependencies } from "@/lib/app/dependencies";
import { getRuntime } from "@/lib/app/runtime";
import type { DependencySlotView } from "@/lib/cron/dependencies";
import type { JobDefinition } from "@/lib/cron/define-job";
import { Badge, Card, linkClass, mutedText } from "../ui";

const utc = (iso: string) => `${iso.slice(0, 16).replace("T", " ")} UTC`;

function slotBadge(s: DependencySlotView) {
  if (s.skippedUpstreamFailed) return <Badge tone="red">skipped: upstream failed</Badge>;
  if (s.status === "completed") return <Badge tone="green">completed</Badge>;
  if (s.status) return <Badge tone={s.status === "failed" || s.status === "timed_out" || s.status === "abandoned" ? "red" : "zinc"}>{s.status.replace("_", " ")}</Badge>;
  if (s.upstreamState === "waiting") return <Badge tone="yellow">waiting</Badge>;
  return <Badge tone="zinc">no run yet</Badge>;
}

/**
 * The job page's dependencies panel: the chain the job is part of (extract -> transform ->
 * load, each a link, this job in bold), its upstream and downstream jobs, and for its latest
 * slots each upstream's state and why a slot waits or was skipped. Null for a job that neither
 * depends on another nor has dependents.
 */
export async function DependenciesPanel({ job }: { job: JobDefinition }) {
  const { database, registry, env } = await getRuntime();
  if (job.dependsOn.length === 0 && registry.dependentsOf(job.name).length === 0) return null;
  const view = await jobDependencies(database.db, registry, job, env.CRON_PLAN);
  const latest = view.slots[0];
  return (
    <section aria-labelledby="dependencies-heading" className="flex flex-col gap-3" data-testid="dependencies-panel">
      <h2 id="dependencies-heading" className="text-lg font-semibold">
        Dependencies
      </h2>
      <Card className="flex flex-col gap-4">
        <nav aria-label="Dependency chain" data-testid="dependency-chain">
          <ol className="flex flex-wrap items-center gap-2 text-sm">
            {view.chain.map((name, i) => (
              <li key={name} className="flex items-center gap-2">
                {i > 0 ? <span aria-hidden="true" className={mutedText}>→</span> : null}
                {name === job.name ? (
                  <strong aria-current="page">{name}</strong>
                ) : (
                  <Link href={`/dashboard/admin/cron-jobs/${encodeURIComponent(name)}`} className={linkClass}>
                    {name}
                  </Link>
                )}
              </li>
            ))}
          </ol>
        </nav>
        <p className="text-sm">
          <span className={mutedText}>Depends on:</span> {view.dependsOn.length ? view.dependsOn.join(", ") : "nothing"}
          {" · "}
          <span className={mutedText}>Dependents:</span> {view.dependents.length ? view.dependents.join(", ") : "none"}
        </p>
        {latest?.reason ? (
          <p className="text-sm font-medium" role="status" data-testid="dependency-reason">
            {utc(latest.slot)}: {latest.reason}
          </p>
        ) : null}
        {view.slots.length > 0 ? (
          <table className="w-full text-sm" aria-label="Recent slots and their upstreams">
            <thead>
              <tr className={`text-left ${mutedText}`}>
                <th className="py-1 pr-3 font-medium">Slot</th>
                <th className="py-1 pr-3 font-medium">This job</th>
                <th className="py-1 pr-3 font-medium">Upstreams</th>
              </tr>
            </thead>
            <tbody>
              {view.slots.map((s) => (
                <tr key={s.slot} className="border-t border-zinc-200 dark:border-zinc-800" data-testid="dependency-slot">
                  <td className="py-1 pr-3 whitespace-nowrap">{utc(s.slot)}</td>
                  <td className="py-1 pr-3">{slotBadge(s)}</td>
                  <td className="py-1 pr-3">
                    {s.upstreams.map((u) => (
                      <span key={u.jobName} className="mr-3 inline-block">
                        {u.jobName}: {u.state} <span className={mutedText}>({u.detail})</span>
                      </span>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Card>
    </section>
  );
}
