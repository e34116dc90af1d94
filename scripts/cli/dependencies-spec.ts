import type { CommandSpec } from "./spec";

/** The CLI's dependencies commands (listed in commands.ts). */
export const dependencyCommands: CommandSpec[] = [];
