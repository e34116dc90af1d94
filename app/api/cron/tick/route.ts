import { handleTick } from "@/lib/server/tick-route";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";
export const maxDuration = 60;

/** Vercel Cron calls GET once a minute; POST works for other schedulers. */
export function GET(request: Request) {
  return handleTick(request, maxDuration);
}

export function POST(request: Request) {
  return handleTick(request, maxDuration);
}
