import { handleLogin, handleLogout } from "@/lib/http/admin-session";

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
