import type { Metadata } from "next";
import { ActionButton } from "@/components/action-button";
import { NewApiTokenForm } from "@/components/api-token-form";
import { Time } from "@/components/time";
import { Badge, Card, cellClass, DataTable, EmptyState, mutedText, PageHeader } from "@/components/ui";
import type { AdminRole } from "@/lib/cron/vocabulary";
import { listApiTokens, type ApiToken } from "@/lib/db/commands/api-tokens";
import type { Tone } from "@/lib/dashboard/format";
import { requireDashboardSession } from "@/lib/dashboard/session";
import { getRuntime } from "@/lib/app/runtime";

export const metadata: Metadata = { title: "API tokens" };

const ROLE_TONES: Record<AdminRole, Tone> = { viewer: "zinc", operator: "blue", admin: "purple" };

/** Live: neither revoked nor past its expiry at `nowMs`. */
const isLive = (t: ApiToken, nowMs: number) => !t.revokedAt && (!t.expiresAt || Date.parse(t.expiresAt) > nowMs);

/**
 * Personal API tokens: the ones this session sees (everyone's for an admin, one's own
 * otherwise, as GET /api/admin/tokens answers), a form for a new one and Revoke on each live one.
 */
export default async function TokensPage() {
  const session = await requireDashboardSession("/dashboard/admin/tokens");
  const { database } = await getRuntime();
  const tokens = await listApiTokens(database.db, { name: session.actor, via: "cookie", ip: null, session: session.id, role: session.role });
  const nowMs = Date.now();
  const isAdmin = session.role === "admin";
  // The rule revokeApiToken applies: an admin any token, anyone else their own.
  const mayRevoke = (t: ApiToken) => isAdmin || t.owner === session.actor;

  return (
    <>
      <PageHeader
        title="API tokens"
        description={
          isAdmin
            ? "Tokens for scripts and tools: each acts as its owner with its role, as Authorization: Bearer <secret>. You see everyone's; the secret is shown once, when it is made."
            : `Your tokens for scripts and tools: each acts as you (${session.actor}) with its role, as Authorization: Bearer <secret>. The secret is shown once, when it is made.`
        }
      />
      <section aria-labelledby="new-token-heading">
        <Card className="flex flex-col gap-3">
          <h2 id="new-token-heading" className="text-lg font-semibold">
            New token
          </h2>
          <NewApiTokenForm />
        </Card>
      </section>
      <section aria-labelledby="tokens-heading" className="flex flex-col gap-3">
        <h2 id="tokens-heading" className="text-lg font-semibold">
          {isAdmin ? "Every token" : "Your tokens"} ({tokens.length})
        </h2>
        {tokens.length === 0 ? (
          <EmptyState title="No API tokens yet">A token made above appears here, newest first, with its prefix (never its secret).</EmptyState>
        ) : (
          <DataTable
            label="API tokens"
            caption="API tokens, newest first"
            minWidthClass="min-w-[64rem]"
            columns={["Name", "Owner", "Role", "Prefix", "Created", "Expires", "Last used", "Revoked", "Actions"]}
          >
            {tokens.map((t) => {
              const live = isLive(t, nowMs);
              return (
                <tr key={t.id} data-token={t.id} data-live={live}>
                  <td className={`${cellClass} font-medium break-words`}>{t.name}</td>
                  <td className={cellClass}>{t.owner}</td>
                  <td className={cellClass}>
                    <Badge tone={ROLE_TONES[t.role]}>{t.role}</Badge>
                  </td>
                  <td className={`${cellClass} font-mono text-xs whitespace-nowrap`}>{t.prefix}…</td>
                  <td className={cellClass}>
                    <Time iso={t.createdAt} />
                    <span className={`block text-xs ${mutedText}`}>by {t.createdBy}</span>
                  </td>
                  <td className={cellClass}>
                    {t.expiresAt ? <Time iso={t.expiresAt} /> : <span className={mutedText}>never</span>}
                    {!t.revokedAt && t.expiresAt && !live ? (
                      <span className="mt-1 block">
                        <Badge tone="zinc">expired</Badge>
                      </span>
                    ) : null}
                  </td>
                  <td className={cellClass}>{t.lastUsedAt ? <Time iso={t.lastUsedAt} /> : <span className={mutedText}>never</span>}</td>
                  <td className={cellClass}>
                    {t.revokedAt ? (
                      <>
                        <Badge tone="red">revoked</Badge>
                        <span className={`mt-1 block text-xs ${mutedText}`}>
                          <Time iso={t.revokedAt} />
                          {t.revokedBy ? ` by ${t.revokedBy}` : ""}
                        </span>
                      </>
                    ) : (
                      <span className={mutedText}>—</span>
                    )}
                  </td>
                  <td className={cellClass}>
                    {live && mayRevoke(t) ? (
                      <ActionButton
                        label="Revoke"
                        ariaLabel={`Revoke ${t.owner}'s token ${t.name}`}
                        method="DELETE"
                        path={`/api/admin/tokens/${t.id}`}
                        variant="danger"
                        confirm={`Revoke ${t.owner}'s token ${t.name} (${t.prefix}…)? Every request with it is refused from now on.`}
                        confirmLabel="Revoke token"
                        successMessage="Revoked."
                        quiet
                        needs="viewer"
                      />
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </DataTable>
        )}
      </section>
    </>
  );
}
