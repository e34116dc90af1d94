import Link from "next/link";

export default function NotFound() {
  return (
    <main className="mx-auto flex max-w-2xl flex-col gap-4 px-6 py-16">
      <h1 className="text-2xl font-semibold">Page not found</h1>
      <p className="text-zinc-600 dark:text-zinc-400">There is nothing at this address.</p>
      <Link href="/" className="underline underline-offset-4">
        Back to Crondeck
      </Link>
    </main>
  );
}
