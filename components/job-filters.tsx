import Link from "next/link";
import { JOB_STATES } from "@/lib/cron/vocabulary";
import { jobStateMeta } from "@/lib/dashboard/format";
import { buttonClass, inputClass, labelClass, linkClass } from "./ui";

export const SORT_LABELS: Record<string, string> = {
  attention: "Needs attention first",
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

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** The job states in the words of their badges, plus the filters that are not states. */
export const STATE_LABELS: Record<string, string> = {
  ...Object.fromEntries(JOB_STATES.map((state) => [state, capitalized(jobStateMeta(state).label)])),
  failing: "Failing (latest slot did not succeed)",
  running: "Running now",
  stale: "Stale run (lease expired)",
  dead_letters: "Pending dead letters",
};

export interface JobFilterValues {
  q: string | null;
  category: string | null;
  state: string | null;
  sort: string | null;
  order: string | null;
}

type Option = [value: string, label: string];

function SelectField({ id, name, label, value, options }: { id: string; name: string; label: string; value: string; options: Option[] }) {
  return (
    <div>
      <label htmlFor={id} className={labelClass}>
        {label}
      </label>
      <select id={id} name={name} defaultValue={value} className={inputClass}>
        {options.map(([optionValue, optionLabel]) => (
          <option key={optionValue} value={optionValue}>
            {optionLabel}
          </option>
        ))}
      </select>
    </div>
  );
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
      <SelectField id="job-category" name="category" label="Category" value={values.category ?? ""} options={[["", "All categories"], ...Object.entries(categories).map(([name, count]): Option => [name, `${name} (${count})`])]} />
      <SelectField id="job-state" name="state" label="State" value={values.state ?? ""} options={[["", "Any state"], ...states.map((s): Option => [s, STATE_LABELS[s] ?? s])]} />
      <SelectField id="job-sort" name="sort" label="Sort by" value={values.sort ?? "attention"} options={sorts.map((s): Option => [s, SORT_LABELS[s] ?? s])} />
      <SelectField id="job-order" name="order" label="Order" value={values.order ?? "asc"} options={[["asc", "Ascending"], ["desc", "Descending"]]} />
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
