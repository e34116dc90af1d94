import { handleOidcCallback } from "@/lib/http/admin-oidc";
import { refuseOtherMethods } from "@/lib/http/methods";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

/** Where the identity provider sends the browser back after a sign-in. */
export async function GET(request: Request) {
  return handleOidcCallback(request);
}

// Every other method: a JSON 405 with Allow (lib/http/methods.ts); HEAD answers like GET without the body.
export const { POST, PUT, PATCH, DELETE, OPTIONS } = refuseOtherMethods("GET", "HEAD");
