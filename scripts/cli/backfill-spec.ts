import type { CommandSpec } from "./spec";

/** The CLI's backfill commands (listed in commands.ts). */
export const backfillCommands: CommandSpec[] = [];
