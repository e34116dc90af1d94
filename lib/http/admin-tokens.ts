import { z } from "zod";
import { ADMIN_ROLES } from "../cron/vocabulary";
import { createApiToken, listApiTokens, revokeApiToken } from "../db/commands/api-tokens";
import { getRuntime } from "../app/runtime";
import { adminRoute } from "./admin-http";
import { json } from "./http";
import { oneLine, parseJsonBody, requireUuid } from "./parse";


export const newTokenBodySchema = z.strictObject({
  /** What the token is for ("deploy script"), shown in lists. */
  name: oneLine(z.string().trim().min(1, "must not be empty").max(100, "must be at most 100 characters")),
  /** The person it acts as (admins only; default: you). */
  owner: oneLine(z.string().trim().min(1, "must not be empty").max(100, "must be at most 100 characters")).optional(),
  role: z.enum(ADMIN_ROLES, { error: `must be one of ${ADMIN_ROLES.join(", ")}` }),
  /** Days until it stops working (1 to 366); leave out for a token that lasts until revoked. */
  expiresInDays: z.number().int().min(1).max(366).optional(),
});

/** GET /api/admin/tokens: everyone's tokens for an admin, one's own otherwise; never a secret. */
export function handleListTokens(request: Request): Promise<Response> {
  return adminRoute(request, "list API tokens", async ({ actor, role }) => {
    const { database } = await getRuntime();
    return json({ success: true, tokens: await listApiTokens(database.db, { ...actor, role }) });
  });
}

/** POST /api/admin/tokens { name, role, owner?, expiresInDays? }: a new token; its secret is in this answer and nowhere else. */
export function handleCreateToken(request: Request): Promise<Response> {
  return adminRoute(
    request,
    "create an API token",
    async ({ actor, role }) => {
      const body = await parseJsonBody(request, newTokenBodySchema);
      const { database } = await getRuntime();
      const { token, secret } = await createApiToken(database.db, { ...actor, role }, { name: body.name, owner: body.owner, role: body.role, expiresInDays: body.expiresInDays ?? null }, new Date());
      return json({ success: true, token, secret, message: "Copy the secret now: it is not shown again. Send it as Authorization: Bearer <secret>." }, 201);
    },
    { role: "viewer" },
  );
}

/** DELETE /api/admin/tokens/[id]: revokes it; the next request with it is refused (401). */
export function handleRevokeToken(request: Request, rawId: string): Promise<Response> {
  return adminRoute(
    request,
    "revoke an API token",
    async ({ actor, role }) => {
      const id = requireUuid(rawId);
      const { database } = await getRuntime();
      return json({ success: true, token: await revokeApiToken(database.db, { ...actor, role }, id, new Date()) });
    },
    { role: "viewer" },
  );
}
