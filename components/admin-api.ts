"use client";

/**
 * How the dashboard's client components call the admin API: same origin (the browser adds
 * the Origin header the API checks), JSON in and out, errors as a message to show.
 */

export type ApiResult<T = Record<string, unknown>> = { ok: true; status: number; data: T } | { ok: false; status: number; message: string; field?: string };

export async function callAdmin<T = Record<string, unknown>>(
  method: "GET" | "POST" | "PUT" | "DELETE",
  path: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<ApiResult<T>> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: "same-origin",
      cache: "no-store",
      headers: { accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }), ...extraHeaders },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    return { ok: false, status: 0, message: "The server did not answer; check your connection and try again." };
  }
  let data: Record<string, unknown> = {};
  try {
    data = (await response.json()) as Record<string, unknown>;
  } catch {
    // not JSON: the message below says what status came back
  }
  if (response.status === 401 && typeof window !== "undefined") {
    // The session ended: back to the login page, returning here afterwards.
    const next = window.location.pathname + window.location.search;
    window.location.assign(`/dashboard/admin/login?error=expired&next=${encodeURIComponent(next)}`);
  }
  if (!response.ok || data.success === false) {
    const message = typeof data.error === "string" ? data.error : `The server answered ${response.status}.`;
    return { ok: false, status: response.status, message, field: typeof data.field === "string" ? data.field : undefined };
  }
  return { ok: true, status: response.status, data: data as T };
}

export const jobPath = (jobName: string, action: string) => `/api/admin/cron-jobs/${encodeURIComponent(jobName)}/${action}`;
