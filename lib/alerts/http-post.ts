import { safeHost } from "./redact";

/** Every alert HTTP call gives up after this long unless told otherwise. */
export const DEFAULT_ALERT_TIMEOUT_MS = 3_000;
/** Enough of a failing answer's body to say why ("invalid_token", "no_service"). */
const MAX_BODY_CHARS = 200;

export interface PostOptions {
  /** Names the target in errors, e.g. "app-wide Slack webhook". Never the URL: its path may be the secret. */
  target: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * POSTs a JSON body; resolves on a 2xx answer and rejects with a message that names the target
 * and host but not the URL. Redirects are failures (a POST followed as a GET would be lost).
 * The timeout covers the whole exchange, body included.
 */
export async function postJson(url: string, body: string, options: PostOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_ALERT_TIMEOUT_MS;
  const host = safeHost(url);
  const doFetch = options.fetch ?? fetch;
  try {
    const response = await doFetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "crondeck-alerts", ...options.headers },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    if (response.status < 200 || response.status > 299) {
      const snippet = text.trim().replace(/\s+/g, " ").slice(0, MAX_BODY_CHARS);
      throw new DeliveryError(`${options.target}: HTTP ${response.status} from ${host}${snippet ? `: ${snippet}` : ""}`);
    }
  } catch (error) {
    if (error instanceof DeliveryError) throw error;
    throw new DeliveryError(describeFetchError(error, options.target, host, timeoutMs));
  }
}

/** A delivery failure whose message is already safe to store. */
export class DeliveryError extends Error {
  override name = "DeliveryError";
}

function describeFetchError(error: unknown, target: string, host: string, timeoutMs: number): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return `${target}: no answer from ${host} within ${timeoutMs} ms`;
  const reason = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error);
  return `${target}: could not reach ${host} (${reason})`;
}

/** Rejects after `ms` with `message` unless `promise` settles first. */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeliveryError(message)), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
