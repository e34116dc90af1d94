/**
 * A lease: held by one owner (a random token or run id) until released or expired.
 * Only the owner may extend or release it. Implementations: lib/db/lease-store.ts
 * (the source of truth, also on PGlite) and lib/locks/redis-lease-store.ts (Upstash, a fast
 * pre-check in front of Postgres). One contract suite runs against each.
 */
export interface LeaseHolder {
  owner: string;
  /** Milliseconds until the lease expires by the store's own clock (<= 0: expired). */
  expiresInMs: number;
}

export interface LeaseStore {
  readonly kind: string;
  /** Takes the lease when it is free or expired; true when `owner` took it (not re-entrant: a live holder asking again gets false). */
  acquire(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Pushes the expiry to now + ttlMs; false (and no change) unless `owner` holds a live lease. */
  extend(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Frees the lease; false (and no change) unless `owner` holds it. */
  release(key: string, owner: string): Promise<boolean>;
  /** The live holder, or null when the lease is free or expired. */
  holder(key: string): Promise<LeaseHolder | null>;
  /** One round trip to the store, throwing when it is unreachable (health checks). */
  ping(): Promise<void>;
}
