import { tickRoute } from "@/lib/http/cron-routes";
import { refuseOtherMethods } from "@/lib/http/methods";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";
export const maxDuration = 60;

/** Vercel Cron calls GET once a minute; POST works for other schedulers. */
export function GET(request: Request) {
  return tickRoute(request, maxDuration);
}

export function POST(request: Request) {
  return tickRoute(request, maxDuration);
}

// Without its own HEAD export Next.js answers HEAD with GET, which would run the tick.
export const { HEAD, PUT, PATCH, DELETE, OPTIONS } = refuseOtherMethods("GET", "POST");
