import { request as httpRequest } from "node:http";

export interface RawReply {
  status: number;
  text: string;
  /** The body parsed as JSON, when it is JSON. */
  body: any;
  headers: Record<string, string | string[] | undefined>;
  contentType: string | null;
  location: string | null;
  setCookie: string[];
}

/** The text parsed as JSON, or undefined when it is not JSON. */
export function jsonOrUndefined(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export type FetchReply = Pick<RawReply, "status" | "text" | "body" | "contentType" | "location">;

/** A request through fetch (redirects not followed, a timeout), with its body parsed when it is JSON. */
export async function fetchReply(url: string, init: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<FetchReply> {
  const response = await fetch(url, { method: init.method ?? "GET", headers: init.headers, redirect: "manual", signal: AbortSignal.timeout(init.timeoutMs ?? 30_000) });
  const text = await response.text();
  return { status: response.status, text, body: jsonOrUndefined(text), contentType: response.headers.get("content-type"), location: response.headers.get("location") };
}

/**
 * A request with exactly the path and headers given, through node:http: no Origin or other
 * header added, no client-side normalisation of `..`, and an array value sends a header twice
 * (fetch would merge it). A string body is sent as is; anything else as JSON. `from` is the
 * local address to send from (127.0.0.2, ...: a distinct TCP peer on loopback).
 */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  opts: { headers?: Record<string, string | string[]>; body?: unknown; from?: string } = {},
): Promise<RawReply> {
  const url = new URL(base);
  const payload = opts.body === undefined ? undefined : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
  const headers: Record<string, string | string[]> = { ...(opts.headers ?? {}) };
  if (payload !== undefined) {
    headers["content-type"] ??= "application/json";
    headers["content-length"] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method, headers, localAddress: opts.from }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => {
        const body = jsonOrUndefined(text);
        const cookies = res.headers["set-cookie"];
        resolve({
          status: res.statusCode ?? 0,
          text,
          body,
          headers: res.headers,
          contentType: res.headers["content-type"] ?? null,
          location: res.headers.location ?? null,
          setCookie: Array.isArray(cookies) ? cookies : cookies ? [cookies] : [],
        });
      });
    });
    req.setTimeout(30_000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
