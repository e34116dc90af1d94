import type { CommandSpec } from "./spec";

/** The CLI's overrides commands (listed in commands.ts). */
export const overrideCommands: CommandSpec[] = [];
