/**
 * Sign-in through an identity provider, the parts without a provider: the role a person gets
 * from the configuration and the claim (the highest wins; none means no sign-in), and the
 * flow cookie (signed under ADMIN_TOKEN, refused when forged, tampered with or too old).
 */
import { expect, it } from "vitest";
import { OIDC_FLOW_SECONDS, readFlow, roleOf, signFlow, type OidcEnv, type OidcFlow } from "@/lib/auth/oidc";
import { envSchema } from "@/lib/env";

const env = (over: Record<string, string> = {}): OidcEnv =>
  envSchema.parse({ OIDC_ISSUER: "https://sso.example.com", OIDC_CLIENT_ID: "crondeck", OIDC_ADMINS: "Alice@Example.com", OIDC_VIEWERS: "vera@example.com", ...over });

it("gives the highest role the configuration or the claim names, and none to anyone else", () => {
  expect(roleOf(env(), { email: "alice@example.com", claims: {} })).toBe("admin");
  expect(roleOf(env(), { email: "vera@example.com", claims: {} })).toBe("viewer");
  expect(roleOf(env(), { email: "vera@example.com", claims: { roles: ["operator", "other"] } })).toBe("operator");
  expect(roleOf(env(), { email: "otto@example.com", claims: { roles: "operator" } })).toBe("operator");
  expect(roleOf(env({ OIDC_ROLE_CLAIM: "crondeck" }), { email: "otto@example.com", claims: { roles: "admin", crondeck: ["viewer"] } })).toBe("viewer");
  expect(roleOf(env(), { email: "nora@example.com", claims: { roles: ["superuser"] } })).toBeNull();
  expect(roleOf(env(), { email: null, claims: {} })).toBeNull();
  expect(roleOf(env({ OIDC_VIEWERS: "*" }), { email: null, claims: {} })).toBe("viewer");
});

it("refuses a configuration it cannot use, naming the variable", () => {
  expect(envSchema.safeParse({ OIDC_ISSUER: "https://sso.example.com" }).error?.issues[0]).toMatchObject({ path: ["OIDC_CLIENT_ID"] });
  expect(envSchema.safeParse({ OIDC_CLIENT_ID: "x" }).error?.issues[0]).toMatchObject({ path: ["OIDC_ISSUER"] });
  expect(envSchema.safeParse({ OIDC_ISSUER: "https://sso.example.com", OIDC_CLIENT_ID: "x", OIDC_ADMINS: "alice@example.com, not an address" }).error?.issues[0]).toMatchObject({ path: ["OIDC_ADMINS", 1] });
});

it("reads back only the flow it signed, while it is young", () => {
  const key = "k".repeat(32);
  const now = Date.UTC(2026, 11, 3, 12);
  const flow: OidcFlow = { state: "s", nonce: "n", verifier: "v", next: "/dashboard/admin/runs", iat: now / 1000 };
  const cookie = signFlow(flow, key);
  expect(readFlow(cookie, key, now + 1000)).toEqual(flow);
  expect(readFlow(cookie, key, now + (OIDC_FLOW_SECONDS + 1) * 1000)).toBeNull();
  expect(readFlow(cookie, "another-admin-token-of-32-chars!", now)).toBeNull();
  const [data, mac] = cookie.split(".");
  const tampered = Buffer.from(JSON.stringify({ ...flow, next: "/dashboard/admin/tokens" })).toString("base64url");
  expect(readFlow(`${tampered}.${mac}`, key, now)).toBeNull();
  expect(readFlow(`${data}.${mac}.x`, key, now)).toBeNull();
  expect(readFlow(undefined, key, now)).toBeNull();
  expect(readFlow("garbage", key, now)).toBeNull();
});
