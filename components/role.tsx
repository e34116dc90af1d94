"use client";

import { createContext, useContext, type ReactNode } from "react";
import { roleAllows, type AdminRole } from "@/lib/cron/vocabulary";

/**
 * Who is signed in, for the console's client components: the console layout reads the session
 * (requireDashboardSession's record) and provides it, and every write control asks useRole()
 * whether to render. The UI only hides: the admin API refuses a viewer's write (403) whatever
 * the page shows. Outside a provider nobody is signed in and nothing that writes renders.
 */

export interface SignedIn {
  /** The person ("admin" for an ADMIN_TOKEN login, the identity provider's name otherwise). */
  actor: string;
  role: AdminRole;
}

const RoleContext = createContext<SignedIn | null>(null);

export function RoleProvider({ signedIn, children }: { signedIn: SignedIn | null; children: ReactNode }) {
  return <RoleContext.Provider value={signedIn}>{children}</RoleContext.Provider>;
}

export interface RoleView {
  actor: string | null;
  role: AdminRole | null;
  /** True when the session's role includes `needed`. */
  allows: (needed: AdminRole) => boolean;
  /** Writes that need an operator (run, pause, replay, clear, edit): what a viewer may not do. */
  canOperate: boolean;
}

export function useRole(): RoleView {
  const signedIn = useContext(RoleContext);
  const allows = (needed: AdminRole) => signedIn !== null && roleAllows(signedIn.role, needed);
  return { actor: signedIn?.actor ?? null, role: signedIn?.role ?? null, allows, canOperate: allows("operator") };
}

/** Its children for a session whose role includes `needs` (default operator), else `fallback`. For server components' write controls. */
export function RequireRole({ needs = "operator", fallback = null, children }: { needs?: AdminRole; fallback?: ReactNode; children: ReactNode }) {
  return useRole().allows(needs) ? children : fallback;
}
