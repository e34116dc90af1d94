import { handleOidcLogin } from "@/lib/http/admin-oidc";
import { refuseOtherMethods } from "@/lib/http/methods";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

/** Starts a sign-in through the identity provider (OpenID Connect). */
export async function GET(request: Request) {
  return handleOidcLogin(request);
}

// Every other method: a JSON 405 with Allow (lib/http/methods.ts); HEAD answers like GET without the body.
export const { POST, PUT, PATCH, DELETE, OPTIONS } = refuseOtherMethods("GET", "HEAD");
