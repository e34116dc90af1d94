import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import { LogoutButton } from "@/components/logout-button";
import { DashboardNav } from "@/components/nav";
import { RoleProvider, type SignedIn } from "@/components/role";
import { TickBanner } from "@/components/tick-banner";
import { focusRing, mutedText } from "@/components/ui";
import { roleAllows } from "@/lib/cron/vocabulary";
import { readDashboardSession } from "@/lib/dashboard/session";

export const metadata: Metadata = {
  title: { template: "%s · Crondeck", default: "Crondeck dashboard" },
  robots: { index: false, follow: false },
};

/**
 * The dashboard's frame: skip link, header with the nav, who is signed in and log out, a viewer's
 * read-only notice, the late-tick banner (it asks the admin API, so it shows nothing signed out),
 * and the main region. Each page checks the session itself (and redirects when there is none);
 * the layout reads the same session (once per request) to tell the write controls, through
 * RoleProvider, whether to render.
 */
export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const state = await readDashboardSession();
  const signedIn: SignedIn | null = state.status === "ok" ? { actor: state.session.actor, role: state.session.role } : null;
  const readOnly = signedIn !== null && !roleAllows(signedIn.role, "operator");
  return (
    <RoleProvider signedIn={signedIn}>
      <div className="min-h-screen bg-zinc-50 text-zinc-900 dark:bg-zinc-950 dark:text-zinc-100">
        <a
          href="#main"
          className="sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-50 focus:rounded-md focus:bg-white focus:px-3 focus:py-2 focus:text-sm focus:font-medium focus:shadow dark:focus:bg-zinc-900"
        >
          Skip to content
        </a>
        <header className="border-b border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-900">
          <div className="mx-auto flex max-w-screen-2xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-3">
            <Link href="/dashboard/admin/cron-jobs" className={`rounded-sm text-lg font-semibold tracking-tight ${focusRing}`}>
              Crondeck
            </Link>
            <div className="order-3 w-full min-w-0 sm:order-none sm:w-auto">
              <DashboardNav />
            </div>
            <div className="ml-auto flex items-center gap-3">
              {signedIn ? (
                <p className={`text-sm ${mutedText}`} data-testid="signed-in-as">
                  <span className="sr-only">Signed in as </span>
                  <span className="font-medium text-zinc-900 dark:text-zinc-100">{signedIn.actor}</span> ({signedIn.role})
                </p>
              ) : null}
              <LogoutButton />
            </div>
          </div>
        </header>
        {readOnly ? (
          <div className="border-b border-blue-200 bg-blue-50 text-blue-900 dark:border-blue-900 dark:bg-blue-950 dark:text-blue-200">
            <p role="note" className="mx-auto max-w-screen-2xl px-4 py-2 text-sm" data-testid="read-only-notice">
              You are signed in as <strong>{signedIn.actor}</strong> ({signedIn.role}): read only. Running, pausing, replaying and editing need the operator role.
            </p>
          </div>
        ) : null}
        <TickBanner />
        <main id="main" tabIndex={-1} className="mx-auto flex max-w-screen-2xl flex-col gap-6 px-4 py-6 outline-none">
          {children}
        </main>
      </div>
    </RoleProvider>
  );
}
