import Link from "next/link";
import type { ReactNode } from "react";
import type { Tone } from "@/lib/dashboard/format";

/** Small presentational pieces shared by the dashboard pages. Server-safe: no hooks. */

export const focusRing = "focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600 dark:focus-visible:outline-blue-400";

const buttonBase = `inline-flex items-center justify-center gap-1.5 rounded-md px-3 py-1.5 text-sm font-medium whitespace-nowrap transition-colors disabled:cursor-not-allowed disabled:opacity-60 ${focusRing}`;
export const buttonClass = {
  primary: `${buttonBase} bg-blue-700 text-white hover:bg-blue-800 dark:bg-blue-600 dark:hover:bg-blue-500`,
  secondary: `${buttonBase} border border-zinc-300 bg-white text-zinc-900 hover:bg-zinc-100 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100 dark:hover:bg-zinc-800`,
  danger: `${buttonBase} bg-red-700 text-white hover:bg-red-800 dark:bg-red-600 dark:hover:bg-red-500`,
  ghost: `${buttonBase} text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800`,
};

export const linkClass = `font-medium text-blue-700 underline-offset-4 hover:underline dark:text-blue-400 rounded-sm ${focusRing}`;

export const inputClass = `block w-full rounded-md border border-zinc-300 bg-white px-3 py-1.5 text-sm text-zinc-900 placeholder:text-zinc-500 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100 dark:placeholder:text-zinc-400 ${focusRing}`;

export const labelClass = "block text-sm font-medium text-zinc-700 dark:text-zinc-300";

export const mutedText = "text-zinc-600 dark:text-zinc-400";

const toneClass: Record<Tone, string> = {
  green: "bg-green-50 text-green-800 ring-green-600/30 dark:bg-green-950 dark:text-green-300 dark:ring-green-400/30",
  red: "bg-red-50 text-red-800 ring-red-600/30 dark:bg-red-950 dark:text-red-300 dark:ring-red-400/30",
  yellow: "bg-yellow-50 text-yellow-900 ring-yellow-600/40 dark:bg-yellow-950 dark:text-yellow-200 dark:ring-yellow-400/30",
  orange: "bg-orange-50 text-orange-900 ring-orange-600/30 dark:bg-orange-950 dark:text-orange-200 dark:ring-orange-400/30",
  blue: "bg-blue-50 text-blue-800 ring-blue-600/30 dark:bg-blue-950 dark:text-blue-300 dark:ring-blue-400/30",
  purple: "bg-purple-50 text-purple-800 ring-purple-600/30 dark:bg-purple-950 dark:text-purple-300 dark:ring-purple-400/30",
  zinc: "bg-zinc-100 text-zinc-800 ring-zinc-500/30 dark:bg-zinc-800 dark:text-zinc-200 dark:ring-zinc-400/30",
};

export function Badge({ tone = "zinc", children, title }: { tone?: Tone; children: ReactNode; title?: string }) {
  return (
    <span title={title} className={`inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium whitespace-nowrap ring-1 ring-inset ${toneClass[tone]}`}>
      {children}
    </span>
  );
}

export function Card({ children, className = "" }: { children: ReactNode; className?: string }) {
  return <div className={`rounded-lg border border-zinc-200 bg-white p-4 shadow-xs dark:border-zinc-800 dark:bg-zinc-900 ${className}`}>{children}</div>;
}

export function PageHeader({ title, description, actions }: { title: string; description?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="flex flex-col gap-3 sm:flex-row sm:items-end sm:justify-between">
      <div className="min-w-0">
        <h1 className="text-2xl font-semibold tracking-tight break-words">{title}</h1>
        {description ? <div className={`mt-1 text-sm ${mutedText}`}>{description}</div> : null}
      </div>
      {actions ? <div className="flex flex-wrap items-center gap-2">{actions}</div> : null}
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="rounded-lg border border-dashed border-zinc-300 px-6 py-10 text-center dark:border-zinc-700">
      <p className="font-medium">{title}</p>
      {children ? <div className={`mx-auto mt-2 max-w-prose text-sm ${mutedText}`}>{children}</div> : null}
    </div>
  );
}

export function Stat({ label, value, hint }: { label: string; value: ReactNode; hint?: ReactNode }) {
  return (
    <Card className="min-w-0">
      <dt className={`text-xs font-medium tracking-wide uppercase ${mutedText}`}>{label}</dt>
      <dd className="mt-1 text-2xl font-semibold tabular-nums">{value}</dd>
      {hint ? <dd className={`mt-0.5 text-xs ${mutedText}`}>{hint}</dd> : null}
    </Card>
  );
}

/** A definition list of label/value pairs. */
export function Facts({ items }: { items: Array<[string, ReactNode]> }) {
  return (
    <dl className="grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-2 lg:grid-cols-3">
      {items.map(([label, value]) => (
        <div key={label} className="flex min-w-0 gap-2">
          <dt className={`shrink-0 ${mutedText}`}>{label}:</dt>
          <dd className="min-w-0 break-words">{value}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Code({ children }: { children: ReactNode }) {
  return <code className="rounded bg-zinc-100 px-1 py-0.5 font-mono text-[0.85em] dark:bg-zinc-800">{children}</code>;
}

export function Pre({ children, label }: { children: ReactNode; label: string }) {
  return (
    <pre
      tabIndex={0}
      aria-label={label}
      className={`max-h-96 overflow-auto rounded-md bg-zinc-100 p-3 font-mono text-xs leading-relaxed whitespace-pre-wrap break-words text-zinc-900 dark:bg-zinc-950 dark:text-zinc-100 ${focusRing}`}
    >
      {children}
    </pre>
  );
}

/** A table's header cell and its body cells, as the dashboard's data tables use them. */
export const headerCellClass = "px-3 py-2 text-left text-xs font-semibold tracking-wide uppercase text-zinc-600 dark:text-zinc-400 whitespace-nowrap";
export const cellClass = "px-3 py-2 align-top";

/**
 * A data table that scrolls sideways on a phone (the region is focusable, so a keyboard can
 * scroll it too): its caption for screen readers, its column headers, and the rows as children.
 * `minWidthClass` is a literal Tailwind class (min-w-[52rem]) so the stylesheet includes it.
 */
export function DataTable({ label, caption, columns, minWidthClass, children }: { label: string; caption: string; columns: readonly string[]; minWidthClass: string; children: ReactNode }) {
  return (
    <div role="region" aria-label={`${label} (scrolls sideways)`} tabIndex={0} className={`overflow-x-auto rounded-lg border border-zinc-200 dark:border-zinc-800 ${focusRing}`}>
      <table className={`w-full ${minWidthClass} text-sm`}>
        <caption className="sr-only">{caption}</caption>
        <thead className="bg-zinc-50 dark:bg-zinc-900">
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col" className={headerCellClass}>
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-200 dark:divide-zinc-800">{children}</tbody>
      </table>
    </div>
  );
}

/** Newer/Older links between the pages of a list; `href(page)` keeps the list's filters. */
export function Pager({ page, pages, total, href }: { page: number; pages: number; total: number; href: (page: number | null) => string }) {
  if (pages <= 1) return null;
  return (
    <nav aria-label="Pages" className="flex items-center gap-4 text-sm">
      {page > 1 ? (
        <Link href={href(page - 1 > 1 ? page - 1 : null)} className={linkClass}>
          Newer
        </Link>
      ) : null}
      <span>
        Page {page} of {pages} ({total} entries)
      </span>
      {page < pages ? (
        <Link href={href(page + 1)} className={linkClass}>
          Older
        </Link>
      ) : null}
    </nav>
  );
}
