import { createServer, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The body as text (gunzipped when sent with content-encoding: gzip). */
  body: string;
  /** The raw body bytes, decompressed. */
  raw: Buffer;
  /** The parsed body when it is JSON. */
  json?: unknown;
}

export interface RecordingServerOptions {
  /** The answer's status, fixed or per request. Default 200. */
  status?: number | ((req: RecordedRequest) => number);
  /** Wait this long before answering (longer than a client's timeout: a server that never answers). */
  delayMs?: number;
  /** The answer's body. Default "ok". */
  responseBody?: string | ((req: RecordedRequest) => string);
}

export interface RecordingServer {
  /** http://127.0.0.1:PORT (no trailing slash) */
  url: string;
  requests: RecordedRequest[];
  /** Resolves once `count` requests have arrived (rejects after timeoutMs). */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
}

/** An HTTP server on 127.0.0.1 (a free port) that records every request and answers as told. */
export async function startRecordingServer(options: RecordingServerOptions = {}): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const waiters = new Set<() => void>();
  const timers = new Set<NodeJS.Timeout>();

  const server = createServer(async (req, res) => {
    const raw = await readBody(req);
    const body = raw.toString("utf8");
    let json: unknown;
    try {
      json = body ? JSON.parse(body) : undefined;
    } catch {
      json = undefined;
    }
    const recorded: RecordedRequest = { method: req.method ?? "GET", path: req.url ?? "/", headers: req.headers, body, raw, json };
    requests.push(recorded);
    for (const wake of waiters) wake();
    const answer = () => {
      if (res.destroyed) return;
      const status = typeof options.status === "function" ? options.status(recorded) : (options.status ?? 200);
      const text = typeof options.responseBody === "function" ? options.responseBody(recorded) : (options.responseBody ?? "ok");
      res.writeHead(status, { "content-type": "text/plain" }).end(text);
    };
    if (options.delayMs) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, options.delayMs);
      timers.add(timer);
    } else {
      answer();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    waitForRequests(count, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (requests.length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(requests.slice());
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} request(s) within ${timeoutMs} ms, got ${requests.length}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      // Requests held by delayMs would keep close() waiting.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
