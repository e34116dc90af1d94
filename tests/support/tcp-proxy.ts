import { createConnection, createServer, type AddressInfo, type Server, type Socket } from "node:net";

/**
 * A TCP proxy for fault injection between the app and Postgres (or Redis): it passes bytes
 * both ways until told to cut them.
 *
 * - `reset()` sends a RST on every open connection (both sides); new connections pass.
 * - `refuse()` resets every open connection and every new one until `heal()` ("the server is down").
 * - `blackhole()` holds all traffic, both directions, on open and new connections, and passes
 *   no close either way: the peers see silence, as behind a dead switch. `heal()` delivers what
 *   was held, as TCP retransmission would after a short outage.
 * - `partition()` is a blackhole that outlasts TCP: bytes sent meanwhile are dropped, and on
 *   `heal()` every connection that lived through it is reset; new connections pass afterwards.
 * - `dropNextReply(match?)` lets the next request through (the next client write whose bytes
 *   contain `match`, or any write), drops the server's reply to it and resets that connection:
 *   the server did the work, the client never learns. Resolves with the request's text once
 *   the reply was dropped.
 * - `holdNextRequest(match?)` keeps the next matching client write (and everything after it on
 *   that connection) from the server and resolves with its text: the request is in flight and
 *   unanswered. `heal()` delivers it; `reset()` kills it (the server never saw it).
 */
export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  /** The current mode. */
  readonly mode: TcpProxyMode;
  /** Counters since start. */
  readonly stats: TcpProxyStats;
  /** Connections open right now. */
  readonly openConnections: number;
  /** `url` with its host and port replaced by the proxy's (postgres://, redis://, http://...). */
  url(url: string): string;
  reset(): void;
  refuse(): void;
  blackhole(): void;
  partition(): void;
  heal(): void;
  dropNextReply(match?: string | RegExp | ((request: Buffer) => boolean)): Promise<string>;
  holdNextRequest(match?: string | RegExp | ((request: Buffer) => boolean)): Promise<string>;
  close(): Promise<void>;
}

export type TcpProxyMode = "pass" | "refuse" | "blackhole" | "partition";

export interface TcpProxyStats {
  connections: number;
  resets: number;
  refused: number;
  droppedReplies: number;
  bytesUp: number;
  bytesDown: number;
}

export interface TcpProxyOptions {
  target: { host: string; port: number };
  /** Where the proxy listens; default 127.0.0.1 on a free port. */
  listen?: { host?: string; port?: number };
}

interface Pair {
  client: Socket;
  upstream: Socket | null;
  heldUp: Buffer[];
  heldDown: Buffer[];
  /** A close from one side seen while held; passed on at heal. */
  clientEnded: boolean;
  upstreamEnded: boolean;
  /** Lived through a partition: reset at heal. */
  partitioned: boolean;
  /** A request matched by dropNextReply went up: its reply is dropped and the pair reset. */
  dropArmed: { resolve: (request: string) => void; request: string } | null;
  /** A request held by holdNextRequest: client bytes wait in heldUp until heal. */
  holding: boolean;
  closed: boolean;
}

interface DropWaiter {
  matches: (request: Buffer) => boolean;
  resolve: (request: string) => void;
}

function matcherOf(match: string | RegExp | ((request: Buffer) => boolean) | undefined): (request: Buffer) => boolean {
  if (match === undefined) return () => true;
  if (typeof match === "function") return match;
  if (typeof match === "string") return (request) => request.includes(match);
  return (request) => match.test(request.toString("latin1"));
}

/** Printable text of a protocol message, for the dropNextReply answer. */
function printable(buffer: Buffer): string {
  return buffer.toString("latin1").replace(/[^\x20-\x7e]+/g, " ").trim().slice(0, 500);
}

export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const { target } = options;
  const pairs = new Set<Pair>();
  const dropWaiters: DropWaiter[] = [];
  const holdWaiters: DropWaiter[] = [];
  const stats: TcpProxyStats = { connections: 0, resets: 0, refused: 0, droppedReplies: 0, bytesUp: 0, bytesDown: 0 };
  let mode: TcpProxyMode = "pass";

  const destroyPair = (pair: Pair, reset: boolean) => {
    if (pair.closed) return;
    pair.closed = true;
    pairs.delete(pair);
    if (reset) stats.resets++;
    for (const socket of [pair.client, pair.upstream]) {
      if (!socket || socket.destroyed) continue;
      if (reset && typeof socket.resetAndDestroy === "function" && socket.readyState === "open") socket.resetAndDestroy();
      else socket.destroy();
    }
  };

  const connectUpstream = (pair: Pair) => {
    const upstream = createConnection({ host: target.host, port: target.port });
    upstream.setNoDelay(true);
    pair.upstream = upstream;
    upstream.on("data", (chunk: Buffer) => {
      if (pair.closed) return;
      if (mode === "partition") return;
      if (mode === "blackhole") {
        pair.heldDown.push(chunk);
        return;
      }
      if (pair.dropArmed) {
        const armed = pair.dropArmed;
        pair.dropArmed = null;
        stats.droppedReplies++;
        destroyPair(pair, true);
        armed.resolve(armed.request);
        return;
      }
      stats.bytesDown += chunk.length;
      pair.client.write(chunk);
    });
    upstream.on("end", () => {
      if (mode === "blackhole" || mode === "partition") pair.upstreamEnded = true;
      else pair.client.end();
    });
    upstream.on("error", () => destroyPair(pair, true));
    upstream.on("close", () => {
      if (mode === "blackhole" || mode === "partition") pair.upstreamEnded = true;
      else destroyPair(pair, false);
    });
    for (const chunk of pair.heldUp.splice(0)) sendUp(pair, chunk);
  };

  const sendUp = (pair: Pair, chunk: Buffer) => {
    if (!pair.upstream || pair.holding) {
      pair.heldUp.push(chunk);
      return;
    }
    if (holdWaiters.length > 0) {
      const index = holdWaiters.findIndex((waiter) => waiter.matches(chunk));
      if (index >= 0) {
        const [waiter] = holdWaiters.splice(index, 1);
        pair.holding = true;
        pair.heldUp.push(chunk);
        waiter!.resolve(printable(chunk));
        return;
      }
    }
    if (!pair.dropArmed && dropWaiters.length > 0) {
      const index = dropWaiters.findIndex((waiter) => waiter.matches(chunk));
      if (index >= 0) {
        const [waiter] = dropWaiters.splice(index, 1);
        pair.dropArmed = { resolve: waiter!.resolve, request: printable(chunk) };
      }
    }
    stats.bytesUp += chunk.length;
    pair.upstream.write(chunk);
  };

  const server: Server = createServer({ noDelay: true }, (client) => {
    stats.connections++;
    if (mode === "refuse") {
      stats.refused++;
      client.on("error", () => {});
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = {
      client,
      upstream: null,
      heldUp: [],
      heldDown: [],
      clientEnded: false,
      upstreamEnded: false,
      partitioned: mode === "partition",
      dropArmed: null,
      holding: false,
      closed: false,
    };
    pairs.add(pair);
    client.on("data", (chunk: Buffer) => {
      if (pair.closed) return;
      if (mode === "partition") return;
      if (mode === "blackhole") {
        pair.heldUp.push(chunk);
        return;
      }
      sendUp(pair, chunk);
    });
    client.on("end", () => {
      if (mode === "blackhole" || mode === "partition") pair.clientEnded = true;
      else pair.upstream?.end();
    });
    client.on("error", () => destroyPair(pair, true));
    client.on("close", () => {
      if (mode === "blackhole" || mode === "partition") pair.clientEnded = true;
      else destroyPair(pair, false);
    });
    // A new connection during an outage is accepted (the listener's kernel does that) but
    // reaches nothing until heal.
    if (mode === "pass") connectUpstream(pair);
  });

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once("error", rejectListen);
    server.listen(options.listen?.port ?? 0, options.listen?.host ?? "127.0.0.1", () => {
      server.off("error", rejectListen);
      resolveListen();
    });
  });
  const address = server.address() as AddressInfo;

  const resetAll = () => {
    for (const pair of [...pairs]) destroyPair(pair, true);
  };

  const proxy: TcpProxy = {
    host: address.address,
    port: address.port,
    get mode() {
      return mode;
    },
    stats,
    get openConnections() {
      return pairs.size;
    },
    url(url: string) {
      const parsed = new URL(url);
      parsed.hostname = address.address;
      parsed.port = String(address.port);
      return parsed.toString();
    },
    reset() {
      resetAll();
    },
    refuse() {
      mode = "refuse";
      resetAll();
    },
    blackhole() {
      if (mode === "partition") return;
      mode = "blackhole";
    },
    partition() {
      mode = "partition";
      for (const pair of pairs) {
        pair.partitioned = true;
        pair.heldUp.length = 0;
        pair.heldDown.length = 0;
      }
    },
    heal() {
      const previous = mode;
      mode = "pass";
      for (const pair of [...pairs]) {
        pair.holding = false;
        if (previous === "partition" && pair.partitioned) {
          destroyPair(pair, true);
          continue;
        }
        if (pair.clientEnded || pair.upstreamEnded) {
          // Deliver what was held, then the close that was held behind it.
          if (pair.upstream && !pair.upstream.destroyed) for (const chunk of pair.heldUp.splice(0)) sendUp(pair, chunk);
          for (const chunk of pair.heldDown.splice(0)) if (!pair.client.destroyed) pair.client.write(chunk);
          destroyPair(pair, false);
          continue;
        }
        if (!pair.upstream) {
          connectUpstream(pair);
          continue;
        }
        for (const chunk of pair.heldUp.splice(0)) sendUp(pair, chunk);
        for (const chunk of pair.heldDown.splice(0)) {
          stats.bytesDown += chunk.length;
          pair.client.write(chunk);
        }
      }
    },
    dropNextReply(match) {
      return new Promise<string>((resolveDrop) => {
        dropWaiters.push({ matches: matcherOf(match), resolve: resolveDrop });
      });
    },
    holdNextRequest(match) {
      return new Promise<string>((resolveHold) => {
        holdWaiters.push({ matches: matcherOf(match), resolve: resolveHold });
      });
    },
    async close() {
      mode = "pass";
      dropWaiters.length = 0;
      holdWaiters.length = 0;
      resetAll();
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
    },
  };
  return proxy;
}
