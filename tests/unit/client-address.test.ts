import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clientAddress, parseTrustProxy, PEER_HEADER, PEER_STAMP_INSTALLED, type TrustProxy } from "@/lib/auth/client-address";
import { parseEnv } from "@/lib/env";

/**
 * clientAddress, the one decision of who the client is (the login limiter and the audit log
 * both use it): forged forwarding headers must not move a client, and trusted hops must be read
 * from the right end.
 */

const holder = globalThis as { [PEER_STAMP_INSTALLED]?: boolean };
const req = (headers: Record<string, string>) => new Request("http://app.test/api/admin/session", { headers });
const trust = (value: string): TrustProxy => parseTrustProxy(value)!;

describe("clientAddress", () => {
  beforeEach(() => {
    holder[PEER_STAMP_INSTALLED] = true;
  });
  afterEach(() => {
    delete holder[PEER_STAMP_INSTALLED];
  });

  it("TRUST_PROXY unset: the stamped TCP peer, whatever X-Forwarded-For or X-Real-IP say", () => {
    const seen = new Set<string | null>();
    for (let i = 0; i < 60; i++) {
      seen.add(clientAddress(req({ [PEER_HEADER]: "198.51.100.23", "x-forwarded-for": `10.0.${i}.1, 192.0.2.${i}`, "x-real-ip": `10.9.9.${i}` }), {}));
    }
    expect([...seen]).toEqual(["198.51.100.23"]);
    expect(clientAddress(req({ [PEER_HEADER]: "::ffff:127.0.0.1" }), {})).toBe("127.0.0.1");
    expect(clientAddress(req({ [PEER_HEADER]: "2001:DB8::1" }), {})).toBe("2001:db8::1");
  });

  it("without the server's stamp the peer header is not believed, and no forwarded header either: unknown", () => {
    delete holder[PEER_STAMP_INSTALLED];
    expect(clientAddress(req({ [PEER_HEADER]: "198.51.100.23", "x-forwarded-for": "203.0.113.9" }), {})).toBeNull();
  });

  it("TRUST_PROXY=N: the N-th address from the right of [peer, ...X-Forwarded-For]; a forged left part changes nothing", () => {
    const env1 = { TRUST_PROXY: trust("1") };
    expect(clientAddress(req({ [PEER_HEADER]: "10.0.0.2", "x-forwarded-for": "6.6.6.6, 203.0.113.7" }), env1)).toBe("203.0.113.7");
    expect(clientAddress(req({ [PEER_HEADER]: "10.0.0.2", "x-forwarded-for": "203.0.113.7" }), env1)).toBe("203.0.113.7");
    // Nothing forwarded: the peer itself.
    expect(clientAddress(req({ [PEER_HEADER]: "203.0.113.8" }), env1)).toBe("203.0.113.8");
    const env2 = { TRUST_PROXY: trust("2") };
    expect(clientAddress(req({ [PEER_HEADER]: "10.0.0.2", "x-forwarded-for": "6.6.6.6, 203.0.113.7, 10.0.0.1" }), env2)).toBe("203.0.113.7");
    // A hop that is no IP counts as unknown.
    expect(clientAddress(req({ [PEER_HEADER]: "10.0.0.2", "x-forwarded-for": "unknown" }), env1)).toBeNull();
  });

  it("TRUST_PROXY=addresses: hops from listed proxies are skipped; a peer not in the list is the client", () => {
    const env = { TRUST_PROXY: trust("10.0.0.0/8, 192.168.1.5") };
    expect(clientAddress(req({ [PEER_HEADER]: "10.0.0.2", "x-forwarded-for": "6.6.6.6, 203.0.113.7, 192.168.1.5" }), env)).toBe("203.0.113.7");
    // Straight from the internet, with a forged header: the peer.
    expect(clientAddress(req({ [PEER_HEADER]: "198.51.100.4", "x-forwarded-for": "203.0.113.7" }), env)).toBe("198.51.100.4");
    // Everything trusted: the leftmost.
    expect(clientAddress(req({ [PEER_HEADER]: "10.0.0.2", "x-forwarded-for": "10.1.1.1" }), env)).toBe("10.1.1.1");
  });

  it("on Vercel (TRUST_PROXY unset): the platform's x-real-ip, else the first X-Forwarded-For entry", () => {
    const vercel = { VERCEL_URL: "crondeck-abc.vercel.app" };
    expect(clientAddress(req({ "x-real-ip": "203.0.113.70", "x-forwarded-for": "203.0.113.70" }), vercel)).toBe("203.0.113.70");
    expect(clientAddress(req({ "x-forwarded-for": "203.0.113.71" }), { VERCEL_ENV: "production" })).toBe("203.0.113.71");
  });
});

describe("TRUST_PROXY", () => {
  it("parses hop counts, addresses and CIDRs; 0 and unset trust nothing", () => {
    expect(parseTrustProxy(undefined)).toEqual({ kind: "none" });
    expect(parseTrustProxy("0")).toEqual({ kind: "none" });
    expect(parseTrustProxy("2")).toEqual({ kind: "hops", hops: 2 });
    expect(parseTrustProxy("10.0.0.0/8,::1")).toMatchObject({ kind: "addresses" });
    for (const bad of ["yes", "10.0.0.0/33", "300.1.1.1", "10.0.0.1/8/2", "21", "fe80::/129"]) expect(parseTrustProxy(bad), bad).toBeNull();
  });

  it("a malformed value stops start-up with a message naming the variable and the shapes it takes", () => {
    expect(() => parseEnv({ TRUST_PROXY: "loopback" })).toThrow(/TRUST_PROXY must be a number of proxy hops such as 1, or a comma-separated list of proxy addresses or CIDRs/);
    expect(parseEnv({ TRUST_PROXY: "1" }).TRUST_PROXY).toEqual({ kind: "hops", hops: 1 });
    expect(parseEnv({}).TRUST_PROXY).toEqual({ kind: "none" });
  });
});
