import { problemResponse } from "./http";

/** Every method a route file can export (Next.js answers the others with a bare 405 itself). */
export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** The methods that run anything on the cron routes. */
export const CRON_METHODS = ["GET", "POST"] as const;

type Refuse = (request: Request) => Response;

/** "GET", "GET or POST", "GET, HEAD or POST". */
function spoken(methods: readonly string[]): string {
  return methods.length < 2 ? methods.join("") : `${methods.slice(0, -1).join(", ")} or ${methods[methods.length - 1]}`;
}

/**
 * The 405 of a route that serves `allowed`: `Allow` lists them and, except for HEAD (which has
 * no body), a JSON error with the code `method_not_allowed` names them. Nothing is read or written.
 */
export function methodNotAllowedFor(request: Request, allowed: readonly HttpMethod[]): Response {
  const allow = allowed.join(", ");
  if (request.method === "HEAD") {
    return new Response(null, { status: 405, headers: { allow, "cache-control": "no-store", "content-type": "application/json" } });
  }
  return problemResponse({
    status: 405,
    code: "method_not_allowed",
    message: `${request.method.slice(0, 20)} is not allowed here: use ${spoken(allowed)}.`,
    details: { allowed: [...allowed] },
    headers: { allow },
  });
}

/**
 * The handlers a route file exports for every method it does not serve, so that each answers
 * a JSON 405 with `Allow` instead of Next.js's empty one:
 *
 *     export const { POST, PUT, PATCH, DELETE, OPTIONS } = refuseOtherMethods("GET", "HEAD");
 *
 * A route with GET lists HEAD as served when Next.js may answer it with GET (without the body);
 * the cron routes refuse HEAD, since their GET runs a job. OPTIONS is refused everywhere: the
 * API serves no cross-origin browser, so a preflight has nothing to allow.
 */
export function refuseOtherMethods<const A extends readonly HttpMethod[]>(...allowed: A): { [M in Exclude<HttpMethod, A[number]>]: Refuse } {
  const served = HTTP_METHODS.filter((m) => allowed.includes(m));
  const refuse: Refuse = (request) => methodNotAllowedFor(request, served);
  return Object.fromEntries(HTTP_METHODS.filter((m) => !allowed.includes(m)).map((m) => [m, refuse])) as { [M in Exclude<HttpMethod, A[number]>]: Refuse };
}

/** The cron routes' answer to every method but GET and POST (lib/http/cron-routes.ts re-exports it). */
export const methodNotAllowed: Refuse = refuseOtherMethods(...CRON_METHODS).PUT;
