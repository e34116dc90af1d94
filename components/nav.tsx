"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { focusRing } from "./ui";

const LINKS = [
  { href: "/dashboard/admin/cron-jobs", label: "Jobs" },
  { href: "/dashboard/admin/runs", label: "Runs" },
  { href: "/dashboard/admin/dead-letters", label: "Dead letters" },
  { href: "/dashboard/admin/locks", label: "Locks" },
  { href: "/dashboard/admin/tick", label: "Tick" },
  { href: "/dashboard/admin/audit", label: "Audit log" },
  { href: "/dashboard/admin/tokens", label: "API tokens" },
];

export function DashboardNav() {
  const pathname = usePathname();
  return (
    <nav aria-label="Dashboard" className="-mx-1 overflow-x-auto">
      <ul className="flex gap-1 px-1">
        {LINKS.map((link) => {
          const current = pathname === link.href || pathname.startsWith(`${link.href}/`);
          return (
            <li key={link.href}>
              <Link
                href={link.href}
                aria-current={current ? "page" : undefined}
                className={`block rounded-md px-3 py-1.5 text-sm font-medium whitespace-nowrap ${focusRing} ${
                  current ? "bg-zinc-900 text-white dark:bg-zinc-100 dark:text-zinc-900" : "text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
                }`}
              >
                {link.label}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
