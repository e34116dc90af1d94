import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import IORedis from "ioredis";

/**
 * A local stand-in for Upstash's REST API over a real Redis, so `new Redis({ url, token })`
 * from @upstash/redis runs in tests exactly as in production (no npm package serves this
 * protocol). What @upstash/redis 1.39 sends, read from its source (pkg/http.ts, pipeline.ts):
 *
 * - `POST /` with one command as a JSON array (`["set", "k", "v", "nx", "px", 100]`),
 *   answered `{ result }` or, with HTTP 400, `{ error }`.
 * - `POST /pipeline` with an array of command arrays. Auto-pipelining is on by default,
 *   so almost every call arrives here, answered with one `{ result } | { error }` per
 *   command (HTTP 200 even when some commands failed).
 * - `POST /multi-exec` for `redis.multi()`: the same shape, run inside MULTI/EXEC.
 * - `Authorization: Bearer <token>`; anything else gets 401 `{ error }`, which the client
 *   throws as an UpstashError.
 * - `Upstash-Encoding: base64` by default: every string in a result, at any depth, is
 *   base64 of its bytes. The client decodes each string except a bare `"OK"`, numbers and
 *   nulls pass through untouched. We encode *every* string (status replies included):
 *   base64("OK") also decodes to "OK", and ioredis hands status and bulk replies back as
 *   the same Buffer, so there is nothing to tell them apart by anyway.
 *
 * Not served: path-style commands (`GET /get/key`), SSE subscriptions, and anything that
 * changes connection state (SELECT, WATCH, blocking pops): one shared ioredis connection
 * carries every request, so such commands are refused rather than leaking between tests.
 */
export interface UpstashRestServer {
  /** Base URL for `new Redis({ url })`, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  readonly token: string;
  /** HTTP requests received so far (including refused ones): counts client round trips. */
  readonly requests: number;
  close(): Promise<void>;
}

export interface UpstashRestServerOptions {
  /** The Redis to serve. Default redis://127.0.0.1:6379 (or REDIS_URL). */
  redisUrl?: string;
  /** The bearer token clients must send. Default: a fixed test token. */
  token?: string;
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
}

type RedisValue = string | number | null | RedisValue[];
type CommandReply = { result: RedisValue } | { error: string };

/** Commands that would change or block the shared connection for everyone else. */
const REFUSED_COMMANDS = new Set([
  "select", "watch", "unwatch", "multi", "exec", "discard", "quit", "reset", "auth", "hello",
  "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "monitor",
  "blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin", "bzpopmax", "bzmpop", "xread", "xreadgroup", "wait", "waitaof",
]);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Starts the adapter; close() stops the HTTP server and the Redis connection. */
export async function startUpstashRestServer(options: UpstashRestServerOptions = {}): Promise<UpstashRestServer> {
  const token = options.token ?? "crondeck-test-upstash-token";
  const redis = new IORedis(options.redisUrl ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379", {
    // A request must fail (as Upstash would) rather than queue forever while Redis is down.
    maxRetriesPerRequest: 1,
  });
  let requests = 0;

  const server = createServer((req, res) => {
    requests += 1;
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      sendJson(res, status, { error: errorMessage(error) });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!isAuthorized(req, url, token)) throw new HttpError(401, "Unauthorized");
    if (req.method !== "POST") throw new HttpError(405, "Method not allowed: send commands with POST");
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    const body = await readJson(req);
    const path = url.pathname.replace(/\/+$/, "") || "/";

    if (path === "/") {
      const reply = await runOne(redis, parseCommand(body), base64);
      // A failed single command is an HTTP error: the client throws it as an UpstashError.
      sendJson(res, "error" in reply ? 400 : 200, reply);
      return;
    }
    if (path === "/pipeline" || path === "/multi-exec") {
      if (!Array.isArray(body) || body.length === 0) throw new HttpError(400, "expected a non-empty array of commands");
      const commands = body.map(parseCommand);
      const replies = path === "/pipeline" ? await runPipeline(redis, commands, base64) : await runMulti(redis, commands, base64);
      sendJson(res, 200, replies);
      return;
    }
    throw new HttpError(404, `Unknown path ${path}: use /, /pipeline or /multi-exec`);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    get requests() {
      return requests;
    },
    async close() {
      // fetch keeps connections alive: drop them, or close() waits for their idle timeout.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** Upstash accepts the token as a bearer header or as `?_token=`. */
function isAuthorized(req: IncomingMessage, url: URL, token: string): boolean {
  const header = req.headers.authorization ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(header);
  return (match?.[1] ?? url.searchParams.get("_token")) === token;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "request body is not valid JSON");
  }
}

/** A command is a non-empty array of strings and numbers; numbers are sent as their decimal text. */
function parseCommand(value: unknown): [string, ...string[]] {
  if (!Array.isArray(value) || value.length === 0) throw new HttpError(400, "a command must be a non-empty JSON array");
  const parts = value.map((part) => {
    if (typeof part === "string") return part;
    if (typeof part === "number" || typeof part === "boolean") return String(part);
    throw new HttpError(400, `command arguments must be strings or numbers, got ${JSON.stringify(part)}`);
  });
  const name = parts[0].toLowerCase();
  if (REFUSED_COMMANDS.has(name)) throw new HttpError(400, `ERR ${name.toUpperCase()} is not supported by the test REST adapter`);
  return [name, ...parts.slice(1)];
}

async function runOne(redis: IORedis, [name, ...args]: [string, ...string[]], base64: boolean): Promise<CommandReply> {
  try {
    return { result: encode(await redis.callBuffer(name, ...args), base64) };
  } catch (error) {
    return { error: errorMessage(error) };
  }
}

/** ioredis writes a pipeline in one go: the commands reach Redis back to back, like Upstash's. */
async function runPipeline(redis: IORedis, commands: Array<[string, ...string[]]>, base64: boolean): Promise<CommandReply[]> {
  const pipeline = redis.pipeline();
  for (const [name, ...args] of commands) pipeline.callBuffer(name, ...args);
  return toReplies(await pipeline.exec(), base64);
}

/**
 * MULTI/EXEC. A command Redis refuses while queueing (wrong arity) discards the whole
 * transaction: that is one error for the request (400), not per command. Errors while
 * executing (INCR on text) stay per command, and the others still apply, as in Redis.
 */
async function runMulti(redis: IORedis, commands: Array<[string, ...string[]]>, base64: boolean): Promise<CommandReply[]> {
  const multi = redis.multi();
  for (const [name, ...args] of commands) multi.callBuffer(name, ...args);
  let results: Array<[Error | null, unknown]> | null;
  try {
    results = await multi.exec();
  } catch (error) {
    const previous = (error as { previousErrors?: Error[] }).previousErrors ?? [];
    throw new HttpError(400, [errorMessage(error), ...previous.map(errorMessage)].join(": "));
  }
  return toReplies(results, base64);
}

function toReplies(results: Array<[Error | null, unknown]> | null, base64: boolean): CommandReply[] {
  if (!results) throw new HttpError(500, "Redis returned no results (connection lost?)");
  return results.map(([error, value]) => (error ? { error: errorMessage(error) } : { result: encode(value, base64) }));
}

/** Redis replies (Buffers, integers, nil, nested arrays) as Upstash's JSON: strings base64 when asked. */
function encode(value: unknown, base64: boolean): RedisValue {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return base64 ? value.toString("base64") : value.toString("utf8");
  if (typeof value === "number") return value;
  if (typeof value === "string") return base64 ? Buffer.from(value, "utf8").toString("base64") : value;
  if (Array.isArray(value)) return value.map((item) => encode(item, base64));
  // An error nested inside an array reply (a Lua table holding an error): keep its text.
  if (value instanceof Error) return encode(value.message, base64);
  return encode(String(value), base64);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
