import Link from "next/link";

// The health check answers JSON, so it gets a plain <a> (a full navigation), not a client-side <Link>.
const links = [
  { href: "/dashboard/admin/cron-jobs", title: "Dashboard", text: "Jobs, runs, failures, locks and the dead-letter queue.", page: true },
  { href: "/api/health", title: "Health check", text: "JSON status of the database and the lock store.", page: false },
];

const cardClass =
  "block h-full rounded-lg border border-zinc-200 p-4 transition-colors hover:border-zinc-400 focus-visible:outline-2 focus-visible:outline-offset-2 dark:border-zinc-800 dark:hover:border-zinc-600";

export default function HomePage() {
  return (
    <main className="mx-auto flex max-w-2xl flex-col gap-8 px-6 py-16">
      <header className="flex flex-col gap-3">
        <h1 className="text-3xl font-semibold tracking-tight">Crondeck</h1>
        <p className="text-zinc-600 dark:text-zinc-400">
          A serverless cron orchestrator inside this Next.js app. A platform scheduler (Vercel Cron, a Kubernetes
          CronJob, a crontab or curl) calls <code className="rounded bg-zinc-100 px-1 py-0.5 text-sm dark:bg-zinc-800">/api/cron/execute/&lt;job&gt;</code>;
          Crondeck authenticates the call, runs the job once per scheduled slot without overlapping itself, retries
          and times it out, records every run in Postgres and alerts when it keeps failing.
        </p>
      </header>
      <ul className="grid gap-4 sm:grid-cols-2">
        {links.map((link) => {
          const body = (
            <>
              <span className="font-medium">{link.title}</span>
              <span className="mt-1 block text-sm text-zinc-600 dark:text-zinc-400">{link.text}</span>
            </>
          );
          return (
            <li key={link.href}>
              {link.page ? (
                <Link href={link.href} prefetch={false} className={cardClass}>
                  {body}
                </Link>
              ) : (
                <a href={link.href} className={cardClass}>
                  {body}
                </a>
              )}
            </li>
          );
        })}
      </ul>
    </main>
  );
}
