import { handleListLocks } from "@/lib/http/admin-locks";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export async function GET(request: Request) {
  return handleListLocks(request);
}
