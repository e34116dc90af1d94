"use client";

import { useRouter } from "next/navigation";
import { useEffect, useId, useRef, useState, useTransition, type FormEvent } from "react";
import { ADMIN_ROLES, type AdminRole } from "@/lib/cron/vocabulary";
import type { ApiToken } from "@/lib/db/commands/api-tokens";
import { callAdmin } from "./admin-api";
import { useRole } from "./role";
import { buttonClass, Code, inputClass, labelClass, mutedText } from "./ui";

const TOKENS_PATH = "/api/admin/tokens";

interface Created {
  token: ApiToken;
  secret: string;
}

/**
 * "New API token": a name, a role (at most the session's own, as the API allows), an owner (an
 * admin's field: anyone else's tokens are their own) and days until it expires, posted to
 * POST /api/admin/tokens. The answer's secret is shown here once, with a copy button: the
 * server keeps only its hash, and the list re-rendered below shows its prefix from then on.
 */
export function NewApiTokenForm() {
  const { actor, role, allows } = useRole();
  const router = useRouter();
  const [, startTransition] = useTransition();
  const roles = ADMIN_ROLES.filter((r) => allows(r));
  const isAdmin = role === "admin";
  const ids = { name: useId(), role: useId(), owner: useId(), expires: useId(), error: useId(), secret: useId(), secretHeading: useId() };
  const [name, setName] = useState("");
  const [tokenRole, setTokenRole] = useState<AdminRole>("viewer");
  const [owner, setOwner] = useState("");
  const [days, setDays] = useState("90");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ text: string; field?: string } | null>(null);
  const [created, setCreated] = useState<Created | null>(null);
  const [copied, setCopied] = useState<"copied" | "failed" | null>(null);
  const secretRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (created) secretRef.current?.select();
  }, [created]);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setCreated(null);
    setCopied(null);
    const body = {
      name: name.trim(),
      role: tokenRole,
      ...(isAdmin && owner.trim() ? { owner: owner.trim() } : {}),
      // Blank: a token that lasts until it is revoked. The API checks the number (whole days, 1 to 366).
      ...(days.trim() ? { expiresInDays: Number(days) } : {}),
    };
    const response = await callAdmin<Created>("POST", TOKENS_PATH, body);
    setBusy(false);
    if (!response.ok) {
      setError({ text: response.message, field: response.field });
      return;
    }
    setCreated({ token: response.data.token, secret: response.data.secret });
    setName("");
    setOwner("");
    startTransition(() => router.refresh());
  }

  async function copy(secret: string) {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied("copied");
    } catch {
      secretRef.current?.select();
      setCopied("failed");
    }
  }

  // The API names the field it refuses ("expiresInDays", "owner", ...): that field is marked and described by the message.
  const describe = (field: string) => (error?.field === field ? { "aria-invalid": true as const, "aria-describedby": ids.error } : {});

  if (!role) return null;
  return (
    <div className="flex flex-col gap-4">
      <form onSubmit={onSubmit} aria-label="New API token" className="grid gap-3 sm:grid-cols-2 lg:grid-cols-[2fr_1fr_2fr_1fr_auto] lg:items-end">
        <div>
          <label htmlFor={ids.name} className={labelClass}>
            Name
          </label>
          <input id={ids.name} name="name" required maxLength={100} className={`${inputClass} mt-1`} value={name} placeholder="deploy script" onChange={(e) => setName(e.target.value)} {...describe("name")} />
        </div>
        <div>
          <label htmlFor={ids.role} className={labelClass}>
            Role
          </label>
          <select id={ids.role} name="role" className={`${inputClass} mt-1`} value={tokenRole} onChange={(e) => setTokenRole(e.target.value as AdminRole)} {...describe("role")}>
            {roles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        {isAdmin ? (
          <div>
            <label htmlFor={ids.owner} className={labelClass}>
              Owner (blank: you)
            </label>
            <input id={ids.owner} name="owner" maxLength={100} className={`${inputClass} mt-1`} value={owner} placeholder={actor ?? ""} onChange={(e) => setOwner(e.target.value)} {...describe("owner")} />
          </div>
        ) : null}
        <div>
          <label htmlFor={ids.expires} className={labelClass}>
            Expires in days (blank: never)
          </label>
          <input
            id={ids.expires}
            name="expiresInDays"
            type="number"
            min={1}
            max={366}
            step={1}
            inputMode="numeric"
            className={`${inputClass} mt-1`}
            value={days}
            onChange={(e) => setDays(e.target.value)}
            {...describe("expiresInDays")}
          />
        </div>
        <div>
          <button type="submit" className={buttonClass.primary} disabled={busy || !name.trim()}>
            {busy ? "Creating…" : "Create token"}
          </button>
        </div>
      </form>
      {!isAdmin ? (
        <p className={`text-sm ${mutedText}`}>
          A token acts as you ({actor}) with the role you pick, at most yours ({role}).
        </p>
      ) : null}
      {error ? (
        <p id={ids.error} role="alert" className="text-sm text-red-800 dark:text-red-300">
          {error.text}
        </p>
      ) : null}
      <div role="status" aria-live="polite" className="sr-only">
        {created ? `Token ${created.token.name} created. Copy its secret now: it is not shown again.` : ""}
      </div>
      {created ? (
        <section aria-labelledby={ids.secretHeading} className="flex flex-col gap-2 rounded-md border border-green-300 bg-green-50 p-3 text-sm text-green-950 dark:border-green-800 dark:bg-green-950 dark:text-green-100" data-testid="new-token-secret">
          <h3 id={ids.secretHeading} className="font-semibold">
            Token {created.token.name} for {created.token.owner} ({created.token.role})
          </h3>
          <p>
            Copy the secret now: it is not shown again. Send it as <Code>Authorization: Bearer &lt;secret&gt;</Code>.
          </p>
          <div className="flex flex-wrap items-center gap-2">
            <label htmlFor={ids.secret} className="sr-only">
              Secret of {created.token.name}
            </label>
            <input id={ids.secret} ref={secretRef} readOnly value={created.secret} className={`${inputClass} max-w-xl flex-1 font-mono`} onFocus={(e) => e.currentTarget.select()} />
            <button type="button" className={buttonClass.secondary} onClick={() => void copy(created.secret)}>
              Copy
            </button>
            <button
              type="button"
              className={buttonClass.ghost}
              onClick={() => {
                setCreated(null);
                setCopied(null);
              }}
            >
              Done
            </button>
          </div>
          <p aria-live="polite" className="text-xs">
            {copied === "copied" ? "Copied to the clipboard." : copied === "failed" ? "The browser did not allow copying: the secret is selected, copy it yourself." : null}
          </p>
        </section>
      ) : null}
    </div>
  );
}
