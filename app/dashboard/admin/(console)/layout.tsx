import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import { LogoutButton } from "@/components/logout-button";
import { DashboardNav } from "@/components/nav";
import { TickBanner } from "@/components/tick-banner";
import { focusRing } from "@/components/ui";

export const metadata: Metadata = {
  title: { template: "%s · Crondeck", default: "Crondeck dashboard" },
  robots: { index: false, follow: false },
};

/** The dashboard's frame: skip link, header with the nav and log out, the late-tick banner (it asks the admin API, so it shows nothing signed out), and the main region. Each page checks the session itself. */
export default function ConsoleLayout({ children }: { children: ReactNode }) {
  return (
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
          <div className="ml-auto">
            <LogoutButton />
          </div>
        </div>
      </header>
      <TickBanner />
      <main id="main" tabIndex={-1} className="mx-auto flex max-w-screen-2xl flex-col gap-6 px-4 py-6 outline-none">
        {children}
      </main>
    </div>
  );
}
