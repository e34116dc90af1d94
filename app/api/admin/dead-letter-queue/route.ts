import { handleListDeadLetters } from "@/lib/http/admin-dead-letters";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export async function GET(request: Request) {
  return handleListDeadLetters(request);
}
