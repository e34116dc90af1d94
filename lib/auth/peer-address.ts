import { Server as HttpServer, type IncomingMessage } from "node:http";
import { Server as HttpsServer } from "node:https";
import { PEER_HEADER, PEER_STAMP_INSTALLED } from "./client-address";

/**
 * Stamps every request this process serves with its TCP peer's address, in a header of our
 * own that overwrites whatever the client sent (PEER_HEADER). A Next.js route handler sees no
 * socket, and Next.js fills X-Forwarded-For from the socket only when the client sent none
 * (`??=` in base-server), so this is how clientAddress learns the real peer when no proxy is
 * trusted. Installed once per process from instrumentation.ts; `next start` and `next dev`
 * serve from the process that runs it. On Vercel the platform's headers are used instead.
 */
export function installPeerAddressStamp(): void {
  const holder = globalThis as { [PEER_STAMP_INSTALLED]?: boolean };
  if (holder[PEER_STAMP_INSTALLED]) return;
  for (const proto of [HttpServer.prototype, HttpsServer.prototype] as Array<{ emit: (event: string | symbol, ...args: unknown[]) => boolean }>) {
    const original = proto.emit;
    proto.emit = function stampPeer(this: unknown, event: string | symbol, ...args: unknown[]): boolean {
      if (event === "request" || event === "upgrade" || event === "checkContinue") {
        const request = args[0] as IncomingMessage;
        const address = request.socket?.remoteAddress;
        if (address) request.headers[PEER_HEADER] = address;
        else delete request.headers[PEER_HEADER];
      }
      return original.call(this, event, ...args);
    };
  }
  holder[PEER_STAMP_INSTALLED] = true;
}
