import type { Metadata } from "next";
import Link from "next/link";
import { Time } from "@/components/time";
import { buttonClass, cellClass, DataTable, EmptyState, inputClass, labelClass, linkClass, mutedText, PageHeader, Pager } from "@/components/ui";
import { AUDIT_ACTIONS } from "@/lib/cron/vocabulary";
import { listAudit } from "@/lib/db/queries/audit";
import { compactJson } from "@/lib/dashboard/format";
import { intParam, isUuid, oneOf, queryString, type SearchParams } from "@/lib/dashboard/params";
import { requireDashboardSession } from "@/lib/dashboard/session";
import { getRuntime } from "@/lib/app/runtime";

export const metadata: Metadata = { title: "Audit log" };

const PAGE_SIZE = 50;

/** Every admin action: who, what, on what, with which details, when and from where. */
export default async function AuditPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  const sp = await searchParams;
  const action = oneOf(sp, "action", AUDIT_ACTIONS);
  const page = intParam(sp, "page", 1, 1, 10_000);
  await requireDashboardSession(`/dashboard/admin/audit${queryString({ action, page: page > 1 ? page : null })}`);

  const { database, registry } = await getRuntime();
  const { entries, total } = await listAudit(database.db, { limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE, action });
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));

  const targetLink = (target: string | null) => {
    if (!target) return <span className={mutedText}>all jobs / the app</span>;
    if (registry.has(target))
      return (
        <Link href={`/dashboard/admin/cron-jobs/${encodeURIComponent(target)}`} className={`${linkClass} font-mono`}>
          {target}
        </Link>
      );
    if (isUuid(target))
      return (
        <Link href="/dashboard/admin/dead-letters?status=all" className={`${linkClass} font-mono`} title={target}>
          dead letter {target.slice(0, 8)}
        </Link>
      );
    return <span className="font-mono">{target}</span>;
  };

  return (
    <>
      <PageHeader title="Audit log" description="Every admin action through the dashboard, the API or the CLI, newest first." />
      <form method="get" action="/dashboard/admin/audit" className="flex flex-wrap items-end gap-3">
        <div>
          <label htmlFor="audit-action" className={labelClass}>
            Action
          </label>
          <select id="audit-action" name="action" defaultValue={action ?? ""} className={inputClass}>
            <option value="">All actions</option>
            {AUDIT_ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className={buttonClass.primary}>
          Filter
        </button>
        {action ? (
          <Link href="/dashboard/admin/audit" className={`${linkClass} text-sm`}>
            Clear
          </Link>
        ) : null}
      </form>

      {entries.length === 0 ? (
        <EmptyState title={action ? `No ${action} entries` : "Nothing in the audit log yet"}>Logins, toggles, runs, replays and lock clears appear here.</EmptyState>
      ) : (
        <DataTable label="Audit entries" caption="Audit entries, newest first" minWidthClass="min-w-[58rem]" columns={["When", "Who", "Session", "Action", "Target", "Detail", "Address"]}>
          {entries.map((e) => (
            <tr key={e.id} data-audit={e.action}>
              <td className={cellClass}>
                <Time iso={e.createdAt} />
              </td>
              <td className={cellClass}>{e.actor}</td>
              {/* The first characters tell sessions apart; the id alone opens nothing (the cookie is signed). */}
              <td className={`${cellClass} font-mono text-xs`} title={e.sessionId ?? undefined}>
                {e.sessionId ? e.sessionId.slice(0, 8) : "—"}
              </td>
              <td className={`${cellClass} font-mono text-xs whitespace-nowrap`}>{e.action}</td>
              <td className={cellClass}>{targetLink(e.target)}</td>
              <td className={`${cellClass} max-w-md`}>
                <code className="font-mono text-xs break-all" title={e.detail ? JSON.stringify(e.detail) : undefined}>
                  {compactJson(e.detail, 200)}
                </code>
              </td>
              <td className={`${cellClass} font-mono text-xs`}>{e.ipAddress ?? "—"}</td>
            </tr>
          ))}
        </DataTable>
      )}

      <Pager page={page} pages={pages} total={total} href={(p) => `/dashboard/admin/audit${queryString({ action, page: p })}`} />
    </>
  );
}
