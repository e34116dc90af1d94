import type { Metadata } from "next";
import { connection } from "next/server";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = {
  title: "Crondeck",
  description: "Serverless cron orchestrator: exactly once per slot, no overlap, every run logged.",
};

/**
 * Every page renders per request: proxy.ts gives each request a CSP nonce, and Next.js puts it
 * on the page's scripts only while rendering. A page prerendered at build time would ship
 * scripts without it, which the policy refuses (no hydration, no client components).
 */
export default async function RootLayout({ children }: { children: ReactNode }) {
  await connection();
  return (
    <html lang="en">
      <body className="min-h-screen bg-background font-sans text-foreground antialiased">{children}</body>
    </html>
  );
}
