import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Provider from "oidc-provider";

/**
 * A real OpenID Connect provider on 127.0.0.1 for the sign-in tests (the `oidc-provider`
 * package, the certified implementation): one confidential client whose redirect URL is the
 * app's callback, PKCE required, and its development login form (any login and password; the
 * login is the account id). Each account's claims come from `accounts`, so a test decides who
 * has which e-mail and which `roles` claim.
 */

export interface TestAccount {
  email: string;
  name?: string;
  roles?: string[];
}

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  accounts: Map<string, TestAccount>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Starts the provider for an app whose callback is `redirectUri`. */
export async function startOidcProvider(redirectUri: string): Promise<TestOidcProvider> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = "crondeck-e2e";
  const clientSecret = `oidc-secret-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  const accounts = new Map<string, TestAccount>();
  const provider = new Provider(issuer, {
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri], response_types: ["code"], grant_types: ["authorization_code"] }],
    async findAccount(_ctx, id) {
      const account = accounts.get(id);
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, email: account.email, email_verified: true, name: account.name ?? id, ...(account.roles ? { roles: account.roles } : {}) }) };
    },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"], roles: ["roles"] },
    scopes: ["openid", "email", "profile", "roles"],
    // The claims of the scopes asked for ride in the ID token (the app also reads userinfo where they do not).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    cookies: { keys: ["crondeck-e2e-oidc-cookie-key-0123456789"] },
  });
  const server: Server = createServer(provider.callback());
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    issuer,
    clientId,
    clientSecret,
    accounts,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
