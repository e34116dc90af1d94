import { scheduleInWords } from "@/lib/dashboard/format";
import { Code } from "./ui";

/** A cron expression, the same in words (cronstrue), and its timezone. */
export function Schedule({ cron, timezone }: { cron: string; timezone: string }) {
  const words = scheduleInWords(cron);
  return (
    <span className="flex flex-col gap-0.5">
      <Code>{cron}</Code>
      <span className="text-xs text-zinc-600 dark:text-zinc-400">
        {words ?? "custom schedule"} ({timezone})
      </span>
    </span>
  );
}
