import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { buttonClass, Code, inputClass, labelClass, mutedText } from "@/components/ui";
import { param, type SearchParams } from "@/lib/dashboard/params";
import { HOME_PATH, safeNextPath } from "@/lib/dashboard/paths";
import { readDashboardSession } from "@/lib/dashboard/session";
import { OIDC_LOGIN_PATH, oidcConfigured } from "@/lib/auth/oidc";
import { loadEnv } from "@/lib/env";

export const metadata: Metadata = { title: "Log in · Crondeck", robots: { index: false, follow: false } };

const ERRORS: Record<string, string> = {
  invalid_token: "That is not the admin token. Check ADMIN_TOKEN on the server and try again.",
  missing_token: "Enter the admin token.",
  expired: "Your session ended (30 minutes idle, or 8 hours after logging in). Log in again.",
  oidc_expired: "The sign-in took too long or was started in another browser. Sign in again.",
  oidc_denied: "The identity provider did not sign you in.",
  oidc_no_role: "You signed in, but you have no role here: ask an admin to add your e-mail to OIDC_VIEWERS, OIDC_OPERATORS or OIDC_ADMINS, or to give you the role claim.",
  oidc_failed: "Signing in through the identity provider failed; try again. The server log says why.",
  oidc_unavailable: "The identity provider could not be reached; try again, or log in with the admin token.",
};

/**
 * The login form posts ADMIN_TOKEN to POST /api/admin/session as a plain HTML form, so it
 * works with and without JavaScript: the API sets the session cookie and answers 303 to
 * the dashboard (or back here with ?error=).
 */
export default async function LoginPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  const sp = await searchParams;
  const next = safeNextPath(param(sp, "next", 300));
  const error = param(sp, "error", 40);
  const state = await readDashboardSession();
  if (state.status === "ok") redirect(next ?? HOME_PATH);
  const env = loadEnv();
  const oidc = oidcConfigured(env) ? { name: env.OIDC_NAME, href: `${OIDC_LOGIN_PATH}${next ? `?next=${encodeURIComponent(next)}` : ""}` } : null;

  return (
    <main id="main" className="flex min-h-screen items-start justify-center bg-zinc-50 px-4 py-16 dark:bg-zinc-950">
      <div className="w-full max-w-md rounded-lg border border-zinc-200 bg-white p-6 shadow-sm dark:border-zinc-800 dark:bg-zinc-900">
        <h1 className="text-2xl font-semibold tracking-tight">Crondeck admin</h1>
        {state.status === "not_configured" ? (
          <section aria-labelledby="setup-heading" className="mt-4 flex flex-col gap-3 text-sm">
            <h2 id="setup-heading" className="text-base font-semibold text-red-800 dark:text-red-300">
              The admin area is closed: ADMIN_TOKEN is not set
            </h2>
            <p>
              The dashboard and the admin API refuse everyone until the server has an <Code>ADMIN_TOKEN</Code>, a long random secret (at least 16
              characters) that you then type here to log in.
            </p>
            <ul className="list-disc space-y-2 pl-5">
              <li>
                <strong>Local development:</strong> <Code>npm run dev</Code> writes a random <Code>ADMIN_TOKEN</Code> (and <Code>CRON_SECRET</Code>) to{" "}
                <Code>.env.local</Code> on its first run and prints where to find it. If you start Next.js another way, add the line yourself.
              </li>
              <li>
                <strong>Anywhere else:</strong> generate one with <Code>openssl rand -hex 32</Code> and set it in the server&apos;s environment (on Vercel: Project
                Settings → Environment Variables), then restart or redeploy.
              </li>
            </ul>
            <p className={mutedText}>Scripts and the CLI use the same token as <Code>Authorization: Bearer &lt;ADMIN_TOKEN&gt;</Code>.</p>
          </section>
        ) : (
          <form method="post" action="/api/admin/session" className="mt-4 flex flex-col gap-4">
            {oidc ? (
              <>
                <a href={oidc.href} className={`${buttonClass.primary} justify-center`}>
                  Sign in with {oidc.name}
                </a>
                <p className={`text-sm ${mutedText}`}>Or, to break glass, log in with the server&apos;s ADMIN_TOKEN:</p>
              </>
            ) : null}
            <p className={`text-sm ${mutedText}`}>Enter the server&apos;s ADMIN_TOKEN. The session lasts 8 hours, or ends after 30 minutes without activity.</p>
            {param(sp, "loggedOut", 4) ? (
              <p role="status" className="rounded-md bg-green-50 px-3 py-2 text-sm text-green-800 dark:bg-green-950 dark:text-green-300">
                You are logged out.
              </p>
            ) : null}
            {error ? (
              <p role="alert" id="login-error" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-300">
                {ERRORS[error] ?? "Logging in failed; try again."}
              </p>
            ) : null}
            <div>
              <label htmlFor="token" className={labelClass}>
                Admin token
              </label>
              <input
                id="token"
                name="token"
                type="password"
                required
                autoComplete="current-password"
                maxLength={1024}
                autoFocus
                aria-describedby={error ? "login-error" : undefined}
                aria-invalid={error === "invalid_token" || error === "missing_token" ? true : undefined}
                className={`mt-1 ${inputClass}`}
              />
            </div>
            {next ? <input type="hidden" name="next" value={next} /> : null}
            <button type="submit" className={buttonClass.primary}>
              Log in
            </button>
          </form>
        )}
      </div>
    </main>
  );
}
