import { createConnection, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { neonConfig } from "@neondatabase/serverless";
import ws, { WebSocketServer, type RawData, type WebSocket } from "ws";

export interface NeonProxy {
  port: number;
  close(): Promise<void>;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * A WebSocket-to-TCP proxy like Neon's wsproxy, for running @neondatabase/serverless (and
 * drizzle's neon-serverless driver) against a plain Postgres server. Every WebSocket
 * connection gets its own TCP socket to pgHost:pgPort (the `address` the driver asks for is
 * ignored: this proxy only ever talks to the one server it was started for).
 */
export function startNeonProxy({ pgHost = "127.0.0.1", pgPort = 5432 }: { pgHost?: string; pgPort?: number } = {}): Promise<NeonProxy> {
  return new Promise((resolveStart, rejectStart) => {
    const pairs = new Set<{ socket: WebSocket; tcp: Socket }>();
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });

    wss.on("connection", (socket) => {
      const tcp = createConnection({ host: pgHost, port: pgPort });
      tcp.setNoDelay(true);
      const pair = { socket, tcp };
      pairs.add(pair);
      let closed = false;
      const closeBoth = () => {
        if (closed) return;
        closed = true;
        pairs.delete(pair);
        tcp.destroy();
        if (socket.readyState === ws.OPEN || socket.readyState === ws.CONNECTING) socket.close();
      };

      // Writes before the TCP connection is up are buffered by the socket.
      socket.on("message", (data) => {
        if (!tcp.destroyed) tcp.write(toBuffer(data));
      });
      tcp.on("data", (chunk) => {
        if (socket.readyState === ws.OPEN) socket.send(chunk, { binary: true });
      });
      socket.on("close", closeBoth);
      socket.on("error", closeBoth);
      tcp.on("close", closeBoth);
      tcp.on("error", closeBoth);
    });

    wss.once("error", rejectStart);
    wss.once("listening", () => {
      wss.off("error", rejectStart);
      const { port } = wss.address() as AddressInfo;
      resolveStart({
        port,
        close: () =>
          new Promise<void>((resolveClose) => {
            for (const { socket, tcp } of pairs) {
              tcp.destroy();
              socket.terminate();
            }
            pairs.clear();
            wss.close(() => resolveClose());
          }),
      });
    });
  });
}

/** Points the Neon driver (process-wide neonConfig) at a proxy from startNeonProxy, without TLS. */
export function configureNeonForProxy(proxyPort: number): void {
  neonConfig.wsProxy = (host, port) => `127.0.0.1:${proxyPort}/v2?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineConnect = false;
  neonConfig.pipelineTLS = false;
  neonConfig.webSocketConstructor = ws;
}
