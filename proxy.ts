import { NextResponse, type NextRequest } from "next/server";

/**
 * The Content-Security-Policy of every HTML page, with a fresh nonce per request (the Next.js
 * CSP-with-nonce pattern): Next.js reads the nonce from the request's Content-Security-Policy
 * header while it renders and puts it on its own scripts and inline styles, so only those run.
 * Every page renders per request for this (app/layout.tsx awaits connection()): a page
 * prerendered at build time would carry no nonce and its scripts would be refused.
 *
 * The headers that do not change per request (nosniff, Referrer-Policy, X-Frame-Options,
 * no-store, the API's policy) are set for every path in next.config.mjs `headers()`.
 */

/** 16 random bytes (128 bits), base64: what the CSP spec asks of a nonce. */
function newNonce(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
}

/**
 * The page policy for one nonce. `frame-ancestors 'none'` is the clickjacking defence (with
 * X-Frame-Options: DENY for old browsers): no page of this app renders inside a frame, same
 * origin included. `'strict-dynamic'` lets the nonced Next.js runtime load its chunks;
 * 'self' stays for browsers without CSP 3. Styles: the stylesheets are same-origin files and
 * Next.js nonces its inline <style>; style *attributes* in server-rendered HTML (the chart's
 * placeholder height, recharts) need `style-src-attr 'unsafe-inline'`: an attribute cannot
 * run script or select other elements, and <style> elements stay nonce-only.
 * No upgrade-insecure-requests: a self-hosted `next start` on plain HTTP would lose its assets.
 */
function pagePolicy(nonce: string, development: boolean): string {
  return [
    "default-src 'self'",
    // React's development build uses eval() to rebuild server error stacks; production never does.
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${development ? " 'unsafe-eval'" : ""}`,
    // The dev server injects <style> elements without a nonce (hot reload).
    `style-src 'self' ${development ? "'unsafe-inline'" : `'nonce-${nonce}'`}`,
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

export function proxy(request: NextRequest): NextResponse {
  const policy = pagePolicy(newNonce(), process.env.NODE_ENV === "development");
  // Overwrites whatever the client sent under this name: only the server chooses the nonce.
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("content-security-policy", policy);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("content-security-policy", policy);
  return response;
}

export const config = {
  matcher: [
    {
      /*
       * Pages only. Not /api/: route handlers answer JSON (their static policy comes from
       * next.config.mjs), and a proxy in front of them would buffer request bodies
       * (proxyClientMaxBodySize) ahead of lib/http's own limit and sit on the path of the
       * cron execute route, which must answer directly. Not the build's static files either.
       * Prefetches carry RSC data, not a document: no nonce to give them.
       */
      source: "/((?!api(?:/|$)|_next/static/|_next/image(?:/|$)).*)",
      missing: [
        { type: "header", key: "next-router-prefetch" },
        { type: "header", key: "purpose", value: "prefetch" },
      ],
    },
  ],
};
