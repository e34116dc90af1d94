"use client";

import { useState } from "react";
import { buttonClass } from "./ui";

/** DELETE /api/admin/session, then the login page (a full navigation drops every cached page). */
export function LogoutButton() {
  const [busy, setBusy] = useState(false);
  async function logout() {
    setBusy(true);
    try {
      await fetch("/api/admin/session", { method: "DELETE", credentials: "same-origin" });
    } finally {
      window.location.assign("/dashboard/admin/login?loggedOut=1");
    }
  }
  return (
    <button type="button" className={buttonClass.ghost} disabled={busy} onClick={() => void logout()}>
      {busy ? "Logging out…" : "Log out"}
    </button>
  );
}
