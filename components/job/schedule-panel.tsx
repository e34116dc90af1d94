import type { JobDefinition } from "@/lib/cron/define-job";
import { nextRuns } from "@/lib/cron/schedule";
import { scheduleInWords, scheduleNotation } from "@/lib/dashboard/format";
import { formatDuration } from "@/lib/format";
import { Card, Code, Facts, mutedText } from "../ui";
import { SlotTimes } from "./slot-times";

/** How many fire times the panel lists. */
const NEXT_COUNT = 10;

const utc = (d: Date) => `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;

/**
 * The job page's schedule panel: the schedule in words, an interval's grid and offset, the
 * startAt/endAt window, the start jitter, and the next fire times (local, UTC, the job's
 * timezone, DST changes marked), or "no further runs" for a one-time job after its slot or a
 * bounded job past its end. What it shows is the definition's: it reads no data.
 */
export async function SchedulePanel({ job, now = new Date() }: { job: JobDefinition; now?: Date }) {
  const s = job.schedule;
  const notation = scheduleNotation(s);
  const next = nextRuns(s, now, NEXT_COUNT);
  const ended = next.length === 0;
  const facts: Array<[string, React.ReactNode]> = [
    ["Kind", s.kind === "every" ? "interval (real time)" : s.kind === "once" ? "one-time (runAt)" : "cron"],
    ["Schedule", <span key="s"><Code>{notation}</Code> {scheduleInWords(notation) ?? ""}</span>],
  ];
  if (s.kind === "every") {
    facts.push(["Grid", `every ${formatDuration(s.everyMs)} from 1970-01-01 00:00 UTC${s.offsetMs ? ` + ${formatDuration(s.offsetMs)}` : ""}: DST never moves it`]);
  } else if (s.kind !== "once") {
    facts.push(["Timezone", s.timezone]);
  }
  if (s.kind === "once") facts.push(["Runs at", utc(s.at)]);
  facts.push(["Starts", s.startAt ? utc(s.startAt) : "—"], ["Ends", s.endAt ? utc(s.endAt) : "—"]);
  facts.push(["Start jitter", job.jitterMs > 0 ? `up to ${formatDuration(job.jitterMs)} after each slot (the slot stays the slot)` : "none"]);
  const endedWhy = s.kind === "once" ? `a one-time job: its slot (${utc(s.at)}) has passed` : s.endAt ? `its window ended at ${utc(s.endAt)}` : "";

  return (
    <section aria-labelledby="schedule-heading" className="flex flex-col gap-3" data-testid="schedule-panel">
      <h2 id="schedule-heading" className="text-lg font-semibold">
        Schedule
      </h2>
      <Card className="flex flex-col gap-4">
        <Facts items={facts} />
        {ended ? (
          <p className="text-sm font-medium" data-testid="no-further-runs">
            No further runs: {endedWhy}.
          </p>
        ) : (
          <div className="flex flex-col gap-2">
            <h3 className={`text-sm ${mutedText}`}>
              Next {next.length === 1 ? "fire time" : `${next.length} fire times`}
              {next.length < NEXT_COUNT ? ` (the last before ${s.kind === "once" ? "the job is done" : "the window ends"})` : ""}
            </h3>
            <SlotTimes slots={next.map((d) => d.toISOString())} timezone={s.kind === "every" || s.kind === "once" ? null : s.timezone} nowIso={now.toISOString()} />
          </div>
        )}
      </Card>
    </section>
  );
}
