import Link from "next/link";
import { buttonClass, inputClass, labelClass, linkClass } from "./ui";

export const SORT_LABELS: Record<string, string> = {
  name: "Name",
  category: "Category",
  state: "State",
  nextRun: "Next run",
  lastRun: "Last run",
  runs: "Runs",
  failures: "Failures",
  successRate: "Success rate",
  avgDuration: "Average duration",
  p95Duration: "p95 duration",
  consecutiveFailures: "Consecutive failures",
};

export const STATE_LABELS: Record<string, string> = {
  enabled: "On schedule",
  disabled: "Disabled",
  paused: "Paused",
  dead_lettered: "Paused by dead letters",
  running: "Running now",
  failing: "Failing",
};

export interface JobFilterValues {
  q: string | null;
  category: string | null;
  state: string | null;
  sort: string | null;
  order: string | null;
}

/**
 * Search and filters as a plain GET form: the server filters (allow-lists), the URL is
 * shareable, and it works without JavaScript.
 */
export function JobFilters({ values, categories, sorts, states }: { values: JobFilterValues; categories: Record<string, number>; sorts: string[]; states: string[] }) {
  const active = Boolean(values.q || values.category || values.state || values.sort || values.order);
  return (
    <form method="get" action="/dashboard/admin/cron-jobs" role="search" aria-label="Filter jobs" className="flex flex-wrap items-end gap-3">
      <div className="w-full sm:w-56">
        <label htmlFor="job-search" className={labelClass}>
          Search
        </label>
        <input id="job-search" name="q" type="search" defaultValue={values.q ?? ""} maxLength={100} placeholder="Name or description" className={inputClass} />
      </div>
      <div>
        <label htmlFor="job-category" className={labelClass}>
          Category
        </label>
        <select id="job-category" name="category" defaultValue={values.category ?? ""} className={inputClass}>
          <option value="">All categories</option>
          {Object.entries(categories).map(([name, count]) => (
            <option key={name} value={name}>
              {name} ({count})
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor="job-state" className={labelClass}>
          State
        </label>
        <select id="job-state" name="state" defaultValue={values.state ?? ""} className={inputClass}>
          <option value="">Any state</option>
          {states.map((s) => (
            <option key={s} value={s}>
              {STATE_LABELS[s] ?? s}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor="job-sort" className={labelClass}>
          Sort by
        </label>
        <select id="job-sort" name="sort" defaultValue={values.sort ?? "name"} className={inputClass}>
          {sorts.map((s) => (
            <option key={s} value={s}>
              {SORT_LABELS[s] ?? s}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor="job-order" className={labelClass}>
          Order
        </label>
        <select id="job-order" name="order" defaultValue={values.order ?? "asc"} className={inputClass}>
          <option value="asc">Ascending</option>
          <option value="desc">Descending</option>
        </select>
      </div>
      <div className="flex items-center gap-3">
        <button type="submit" className={buttonClass.primary}>
          Apply
        </button>
        {active ? (
          <Link href="/dashboard/admin/cron-jobs" className={`${linkClass} text-sm`}>
            Clear filters
          </Link>
        ) : null}
      </div>
    </form>
  );
}
