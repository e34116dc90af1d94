import type { Metadata } from "next";
import Link from "next/link";
import { Time } from "@/components/time";
import { buttonClass, EmptyState, focusRing, inputClass, labelClass, linkClass, mutedText, PageHeader } from "@/components/ui";
import { AUDIT_ACTIONS } from "@/lib/cron/vocabulary";
import { listAudit } from "@/lib/db/queries/audit";
import { compactJson } from "@/lib/dashboard/format";
import { intParam, isUuid, oneOf, queryString, type SearchParams } from "@/lib/dashboard/params";
import { requireDashboardSession } from "@/lib/dashboard/session";
import { getRuntime } from "@/lib/app/runtime";

export const metadata: Metadata = { title: "Audit log" };

const PAGE_SIZE = 50;
const th = "px-3 py-2 text-left text-xs font-semibold tracking-wide uppercase text-zinc-600 dark:text-zinc-400 whitespace-nowrap";
const td = "px-3 py-2 align-top";

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
        <div role="region" aria-label="Audit entries (scrolls sideways)" tabIndex={0} className={`overflow-x-auto rounded-lg border border-zinc-200 dark:border-zinc-800 ${focusRing}`}>
          <table className="w-full min-w-[52rem] text-sm">
            <caption className="sr-only">Audit entries, newest first</caption>
            <thead className="bg-zinc-50 dark:bg-zinc-900">
              <tr>
                <th scope="col" className={th}>When</th>
                <th scope="col" className={th}>Who</th>
                <th scope="col" className={th}>Action</th>
                <th scope="col" className={th}>Target</th>
                <th scope="col" className={th}>Detail</th>
                <th scope="col" className={th}>Address</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-zinc-200 dark:divide-zinc-800">
              {entries.map((e) => (
                <tr key={e.id} data-audit={e.action}>
                  <td className={td}>
                    <Time iso={e.createdAt} />
                  </td>
                  <td className={td}>{e.actor}</td>
                  <td className={`${td} font-mono text-xs whitespace-nowrap`}>{e.action}</td>
                  <td className={td}>{targetLink(e.target)}</td>
                  <td className={`${td} max-w-md`}>
                    <code className="font-mono text-xs break-all" title={e.detail ? JSON.stringify(e.detail) : undefined}>
                      {compactJson(e.detail, 200)}
                    </code>
                  </td>
                  <td className={`${td} font-mono text-xs`}>{e.ipAddress ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {pages > 1 ? (
        <nav aria-label="Pages" className="flex items-center gap-4 text-sm">
          {page > 1 ? (
            <Link href={`/dashboard/admin/audit${queryString({ action, page: page - 1 > 1 ? page - 1 : null })}`} className={linkClass}>
              Newer
            </Link>
          ) : null}
          <span>
            Page {page} of {pages} ({total} entries)
          </span>
          {page < pages ? (
            <Link href={`/dashboard/admin/audit${queryString({ action, page: page + 1 })}`} className={linkClass}>
              Older
            </Link>
          ) : null}
        </nav>
      ) : null}
    </>
  );
}
