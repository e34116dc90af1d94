import { BlockList, isIP } from "node:net";
import type { Env } from "../env";

/**
 * Who the client is, decided in one place for the login limiter and the audit log alike.
 *
 * X-Forwarded-For is whatever the client sent unless a proxy the operator trusts rewrote
 * it, so it is believed only as far as TRUST_PROXY says:
 *   - unset, self-hosted: not at all. The address is the TCP peer, which the server stamps
 *     on every request itself (lib/auth/peer-address.ts, installed at start-up), so a forged
 *     header neither moves a client to another limiter bucket nor shows in the audit log.
 *     (Next.js only sets X-Forwarded-For from the socket with `??=`, keeping the client's
 *     value when it sent one, so the header alone cannot tell the two apart.)
 *   - unset, on Vercel (VERCEL_URL or VERCEL_ENV set): the platform's x-real-ip, else the
 *     first X-Forwarded-For entry; Vercel overwrites both with the client's address and
 *     does not pass a client's own X-Forwarded-For on.
 *   - a number N: N proxies append to X-Forwarded-For; the client is the N-th address from
 *     the right of [peer, ...X-Forwarded-For] read right to left (1 = the last entry).
 *   - addresses/CIDRs: hops from those addresses are skipped, right to left, starting with
 *     the peer; the first address not in the list is the client.
 * An address that is no IP (a proxy's "unknown") counts as no address.
 */

export type TrustProxy =
  | { kind: "none" }
  | { kind: "hops"; hops: number }
  | { kind: "addresses"; list: BlockList; text: string };

/** TRUST_PROXY's value parsed; null for a malformed one (lib/env.ts reports it). */
export function parseTrustProxy(value: string | undefined): TrustProxy | null {
  const text = value?.trim() ?? "";
  if (text === "") return { kind: "none" };
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    return hops <= 20 ? (hops === 0 ? { kind: "none" } : { kind: "hops", hops }) : null;
  }
  const list = new BlockList();
  for (const entry of text.split(",").map((s) => s.trim())) {
    const [address, prefix, extra] = entry.split("/");
    const family = isIP(address ?? "");
    if (!family || extra !== undefined) return null;
    const type = family === 4 ? "ipv4" : "ipv6";
    if (prefix === undefined) {
      list.addAddress(address, type);
      continue;
    }
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128)) return null;
    list.addSubnet(address, Number(prefix), type);
  }
  return { kind: "addresses", list, text };
}

/** The request header the server stamps with the TCP peer's address (overwriting whatever a client sent). */
export const PEER_HEADER = "x-crondeck-peer";
/** Set on globalThis once the stamp is installed in this process: without it the header is not believed. */
export const PEER_STAMP_INSTALLED = Symbol.for("crondeck.peer-address-stamp");

/** An IP address in its plain form (an IPv4-mapped IPv6 address as IPv4), or null when it is none. */
export function normalizeAddress(value: string | null | undefined): string | null {
  let address = value?.trim() ?? "";
  if (address.startsWith("[") && address.endsWith("]")) address = address.slice(1, -1);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) address = mapped[1];
  return isIP(address) ? address.toLowerCase() : null;
}

function peerOf(request: Request): string | null {
  if (!(globalThis as { [PEER_STAMP_INSTALLED]?: boolean })[PEER_STAMP_INSTALLED]) return null;
  return normalizeAddress(request.headers.get(PEER_HEADER));
}

const forwardedFor = (request: Request) =>
  (request.headers.get("x-forwarded-for") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/** What clientAddress reads of the environment (unset: no proxy trusted, not on Vercel). */
export type AddressEnv = Partial<Pick<Env, "TRUST_PROXY" | "VERCEL_ENV" | "VERCEL_URL">>;

const onVercel = (env: AddressEnv) => Boolean(env.VERCEL_URL || env.VERCEL_ENV);

/** The client's address as TRUST_PROXY allows it to be known, or null when it cannot be. */
export function clientAddress(request: Request, env: AddressEnv): string | null {
  const trust = env.TRUST_PROXY ?? { kind: "none" };
  if (trust.kind === "none") {
    if (onVercel(env)) return normalizeAddress(request.headers.get("x-real-ip")) ?? normalizeAddress(forwardedFor(request)[0]);
    return peerOf(request);
  }
  const peer = peerOf(request);
  // Right to left: the peer first, then what each proxy appended.
  const chain = [...(peer ? [peer] : []), ...forwardedFor(request).reverse()];
  if (trust.kind === "hops") {
    // Without the peer (no stamp in this process) the last entry is the first hop's.
    const index = peer ? trust.hops : trust.hops - 1;
    return normalizeAddress(chain[Math.min(index, chain.length - 1)]);
  }
  // A list of proxies: the chain is only believed from a peer that is one of them.
  if (!peer) return null;
  let i = 0;
  while (i < chain.length - 1) {
    const hop = normalizeAddress(chain[i]);
    if (!hop || !trust.list.check(hop, isIP(hop) === 4 ? "ipv4" : "ipv6")) break;
    i++;
  }
  return normalizeAddress(chain[i]);
}
