import type { CommandSpec } from "./spec";

/** The CLI's snooze commands (listed in commands.ts). */
export const snoozeCommands: CommandSpec[] = [];
