"use client";

import { createContext, useContext, type ReactNode } from "react";
import { roleAtLeast } from "@/lib/auth/roles";
import type { Role } from "@/lib/cron/vocabulary";

/**
 * The signed-in person's role as the dashboard's client components see it: the console layout
 * provides it from the session; controls that change state render only for a role allowed to
 * use them (the API refuses the rest with 403 either way). Without a provider (a page outside
 * the console) the role is admin, as the ADMIN_TOKEN login is.
 */

export interface Viewer {
  role: Role;
  /** The person's name as the audit log records it. */
  name: string;
}

const ViewerContext = createContext<Viewer>({ role: "admin", name: "admin" });

export function ViewerProvider({ viewer, children }: { viewer: Viewer; children: ReactNode }) {
  return <ViewerContext.Provider value={viewer}>{children}</ViewerContext.Provider>;
}

/** The signed-in person. */
export const useViewer = (): Viewer => useContext(ViewerContext);

/** True when the signed-in person's role is at least `need`. */
export const useCan = (need: Role): boolean => roleAtLeast(useContext(ViewerContext).role, need);

/** Renders its children only for a role at least `need` (else `fallback`, default nothing). */
export function Can({ need, children, fallback = null }: { need: Role; children: ReactNode; fallback?: ReactNode }) {
  return <>{useCan(need) ? children : fallback}</>;
}
