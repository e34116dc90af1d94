import { scheduleInWords } from "@/lib/dashboard/format";
import { Code } from "./ui";

/**
 * A schedule as the API writes it (a cron expression, "every 90m", "once <instant>"), the same
 * in words (cronstrue for cron), and the timezone a cron is read in (an interval or a one-time
 * job is real time: no timezone applies).
 */
export function Schedule({ cron, timezone }: { cron: string; timezone: string }) {
  const words = scheduleInWords(cron);
  const realTime = /^(every|once) /.test(cron);
  return (
    <span className="flex flex-col gap-0.5">
      <Code>{cron}</Code>
      <span className="text-xs text-zinc-600 dark:text-zinc-400">
        {words ?? "custom schedule"}
        {realTime ? "" : ` (${timezone})`}
      </span>
    </span>
  );
}
