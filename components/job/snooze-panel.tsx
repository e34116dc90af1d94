import Link from "next/link";
import type { JobDefinition } from "@/lib/cron/define-job";
import { nextSlotOf } from "@/lib/app/operations/snooze";
import { getRuntime } from "@/lib/app/runtime";
import { jobState } from "@/lib/db/queries/jobs";
import { recentSnoozeSkips } from "@/lib/db/queries/snooze";
import { ActionButton } from "@/components/action-button";
import { Time } from "@/components/time";
import { Card, linkClass, mutedText } from "@/components/ui";
import { SnoozeForm } from "./snooze-form";

const REASON_TEXT = { snoozed: "snoozed", skip_requested: "skip requested" } as const;

/**
 * The job page's skip-next and snooze panel: the next slot with "Skip next run" (or "Undo"), the
 * other slots asked to be skipped, the snooze in force with "End snooze" (or the form to start
 * one: a date-time or a preset, and a note), and the skips recorded for them lately, with who
 * asked. Every button calls the admin API (skip-next, snooze).
 */
export async function SnoozePanel({ job }: { job: JobDefinition }) {
  const { database } = await getRuntime();
  const [state, skips] = await Promise.all([jobState(database.db, job.name, job.enabled), recentSnoozeSkips(database.db, job.name)]);
  const now = new Date();
  const path = (action: string) => `/api/admin/cron-jobs/${encodeURIComponent(job.name)}/${action}`;
  const snoozedUntil = state.snoozedUntil && Date.parse(state.snoozedUntil) > now.getTime() ? state.snoozedUntil : null;
  const toSkip = state.skipSlots.filter((s) => Date.parse(s) > now.getTime());
  const next = nextSlotOf(job, now);
  const nextIso = next?.toISOString() ?? null;
  const nextSkipped = nextIso !== null && toSkip.includes(nextIso);
  const nextSnoozed = next !== null && snoozedUntil !== null && next.getTime() < Date.parse(snoozedUntil);
  const runHref = (id: string) => `/dashboard/admin/cron-jobs/${encodeURIComponent(job.name)}?run=${id}`;

  return (
    <section aria-labelledby="snooze-heading">
      <Card>
        <h2 id="snooze-heading" className="text-lg font-semibold">
          Skip and snooze
        </h2>
        <p className={`mt-1 text-sm ${mutedText}`}>
          Skip one scheduled run, or snooze the job until a time (a maintenance window): each skipped slot is recorded with who asked, so it is neither
          missed nor late. Unlike a pause, a snooze ends by itself. Run now, replay and backfill still run.
        </p>

        <div className="mt-4 flex flex-col gap-3 text-sm" data-testid="snooze-state">
          {snoozedUntil ? (
            <div role="status" className="flex flex-wrap items-center gap-3 rounded-md bg-blue-50 px-3 py-2 text-blue-900 dark:bg-blue-950 dark:text-blue-200">
              <span>
                Snoozed until <Time iso={snoozedUntil} /> by {state.snoozedBy ?? "an operator"}
                {state.snoozeReason ? `: ${state.snoozeReason}` : ""}
              </span>
              <ActionButton label="End snooze" method="DELETE" path={path("snooze")} quiet />
            </div>
          ) : null}

          <div className="flex flex-wrap items-center gap-3">
            {nextIso ? (
              <>
                <span>
                  Next run: <Time iso={nextIso} />
                  {/* The claim checks the snooze first: a snoozed slot's skip says snoozed, whatever else was asked. */}
                  {nextSnoozed ? <strong> (skipped: snoozed)</strong> : nextSkipped ? <strong> (will be skipped)</strong> : null}
                </span>
                {nextSnoozed ? null : nextSkipped ? (
                  <ActionButton label="Undo" ariaLabel={`Undo the skip of the run at ${nextIso}`} method="DELETE" path={path("skip-next")} body={{ slot: nextIso }} quiet />
                ) : (
                  <ActionButton label="Skip next run" method="POST" path={path("skip-next")} body={{ slot: nextIso }} withNote confirm={`Skip the run of ${job.name} at ${nextIso}?`} confirmLabel="Skip it" confirmAlign="left" quiet />
                )}
              </>
            ) : (
              <span className={mutedText}>No further runs: nothing to skip.</span>
            )}
          </div>

          {toSkip.filter((s) => s !== nextIso).length > 0 ? (
            <div>
              <h3 className="font-medium">Also to be skipped</h3>
              <ul className="mt-1 flex flex-col gap-1">
                {toSkip
                  .filter((s) => s !== nextIso)
                  .map((s) => (
                    <li key={s} className="flex items-center gap-3">
                      <Time iso={s} />
                      <ActionButton label="Undo" ariaLabel={`Undo the skip of the run at ${s}`} method="DELETE" path={path("skip-next")} body={{ slot: s }} quiet />
                    </li>
                  ))}
              </ul>
            </div>
          ) : null}

          {!snoozedUntil ? <SnoozeForm jobName={job.name} /> : null}
        </div>

        {skips.length > 0 ? (
          <div className="mt-4">
            <h3 className="text-sm font-medium">Recently skipped</h3>
            <table className="mt-1 w-full text-sm" data-testid="snooze-skips">
              <caption className="sr-only">The latest runs skipped for a snooze or a skip-next</caption>
              <thead>
                <tr className={`text-left text-xs uppercase ${mutedText}`}>
                  <th scope="col" className="py-1 pr-3">Slot</th>
                  <th scope="col" className="py-1 pr-3">Reason</th>
                  <th scope="col" className="py-1 pr-3">Asked by</th>
                </tr>
              </thead>
              <tbody>
                {skips.map((s) => (
                  <tr key={s.id}>
                    <td className="py-1 pr-3">
                      <Link href={runHref(s.id)} className={linkClass}>
                        {s.slot ? <Time iso={s.slot} /> : "no slot"}
                      </Link>
                    </td>
                    <td className="py-1 pr-3">{REASON_TEXT[s.reason]}</td>
                    <td className="py-1 pr-3">{s.actor ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </Card>
    </section>
  );
}
