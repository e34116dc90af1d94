/**
 * A request refused before anything runs (no credentials, a wrong secret, a foreign Origin, a
 * server that is not configured for it): the status, a stable code and a message saying what
 * to do. Authentication returns one instead of building a response; the HTTP layer answers it
 * (lib/http/errors.ts), so every refusal has the same JSON shape.
 */
export interface Refusal<Code extends string = string> {
  ok: false;
  status: number;
  code: Code;
  message: string;
  /** Headers the answer must carry (Retry-After, Allow). */
  headers?: Record<string, string>;
}

export function refusal<Code extends string>(status: number, code: Code, message: string, headers?: Record<string, string>): Refusal<Code> {
  return { ok: false, status, code, message, ...(headers ? { headers } : {}) };
}
