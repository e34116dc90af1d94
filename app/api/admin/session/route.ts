import { handleLogin, handleLogout } from "@/lib/http/admin-session";
import { refuseOtherMethods } from "@/lib/http/methods";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

/** Log in: { token } as JSON, or a form post from the login page. */
export async function POST(request: Request) {
  return handleLogin(request);
}

/** Log out. */
export async function DELETE(request: Request) {
  return handleLogout(request);
}

// Every other method: a JSON 405 with Allow (lib/http/methods.ts).
export const { GET, HEAD, PUT, PATCH, OPTIONS } = refuseOtherMethods("POST", "DELETE");
