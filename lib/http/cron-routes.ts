import { answerBeforeExit } from "../app/shutdown";
import { handleExecute } from "./execute";
import { problemResponse } from "./http";
import { handleTick } from "./tick-route";

/**
 * The cron routes' GET and POST, as the route files call them. Both trigger; a caller whose run
 * outlives a graceful shutdown still gets an answer (503 interrupted), never a connection reset.
 * Every other method is methodNotAllowed (lib/http/methods.ts).
 */

export function executeRoute(request: Request, jobName: string, maxDurationSeconds: number): Promise<Response> {
  return answerBeforeExit(() => handleExecute(request, jobName, maxDurationSeconds), problemResponse);
}

export function tickRoute(request: Request, maxDurationSeconds: number): Promise<Response> {
  return answerBeforeExit(() => handleTick(request, maxDurationSeconds), problemResponse);
}

export { methodNotAllowed } from "./methods";
