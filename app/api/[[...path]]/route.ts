import { apiNotFound } from "@/lib/http/http";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

/**
 * Every /api/ path no other route file serves (an unknown admin path, /api/ itself, a job path
 * whose `..` Next.js normalised away): a JSON 404 `not_found` for every method, with no
 * credentials needed and nothing read. More specific route files always win over this one.
 */
export const GET = apiNotFound;
export const HEAD = apiNotFound;
export const POST = apiNotFound;
export const PUT = apiNotFound;
export const PATCH = apiNotFound;
export const DELETE = apiNotFound;
export const OPTIONS = apiNotFound;
