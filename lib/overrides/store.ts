import type { JobDefinition } from "../cron/define-job";
import { JobRegistry } from "../cron/registry";
import type { Db } from "../db/client";
import { readAllOverrides, type StoredOverrides } from "../db/queries/overrides";
import { applyOverrides, OverrideError, parseOverrideDocument, type OverrideDocument } from "./apply";

export { readAllOverrides, readOverrides, type StoredOverrides } from "../db/queries/overrides";

/** How long a process trusts the overrides it read: another instance's change applies here within this long. */
export const OVERRIDES_CACHE_TTL_MS = 5_000;

/**
 * The overrides of every job, read at most once per TTL per process (one query for all jobs,
 * never a round trip per trigger) and dropped by this process's own writes. Concurrent readers
 * share one load; a load that an invalidation overtook is not kept.
 */
export class OverrideCache {
  private loaded: { at: number; overrides: Map<string, StoredOverrides> } | null = null;
  private pending: Promise<Map<string, StoredOverrides>> | null = null;
  private generation = 0;

  constructor(
    /** Reads every job's overrides (readAllOverrides over the app's database). */
    private readonly load: () => Promise<Map<string, StoredOverrides>>,
    private readonly ttlMs = OVERRIDES_CACHE_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  async all(): Promise<Map<string, StoredOverrides>> {
    if (this.loaded && this.now() - this.loaded.at < this.ttlMs) return this.loaded.overrides;
    if (this.pending) return this.pending;
    const generation = this.generation;
    const startedAt = this.now();
    const load = this.load().then(
      (overrides) => {
        if (generation === this.generation) this.loaded = { at: startedAt, overrides };
        if (this.pending === load) this.pending = null;
        return overrides;
      },
      (error) => {
        if (this.pending === load) this.pending = null;
        throw error;
      },
    );
    this.pending = load;
    return load;
  }

  /** This process wrote overrides: the next read goes to the database. */
  invalidate(): void {
    this.generation += 1;
    this.loaded = null;
    this.pending = null;
  }
}

const caches = new WeakMap<Db, OverrideCache>();

/** The process's cache for a database handle (one per handle, so tests on separate databases never share one). */
export function overrideCacheFor(db: Db): OverrideCache {
  let cache = caches.get(db);
  if (!cache) caches.set(db, (cache = new OverrideCache(() => readAllOverrides(db))));
  return cache;
}

const applied = new WeakMap<JobDefinition, { raw: string; effective: JobDefinition }>();
const warned = new Set<string>();

/**
 * The job with its stored overrides applied (the job itself when it has none). A stored document
 * the code no longer accepts (the code changed under it, such as a new maxRuntime over the
 * overridden timeout) is ignored with one warning per process and document: the code's
 * definition runs, and the dashboard shows the override as not applied.
 */
export function effectiveJob<J extends JobDefinition>(job: J, stored: StoredOverrides | undefined): J {
  if (!stored || Object.keys(stored.doc).length === 0) return job;
  const raw = JSON.stringify(stored.doc);
  const memo = applied.get(job);
  if (memo && memo.raw === raw) return memo.effective as J;
  let effective: J = job;
  try {
    effective = applyOverrides(job, parseOverrideDocument(job, stored.doc as OverrideDocument));
  } catch (error) {
    if (!(error instanceof OverrideError)) throw error;
    const key = `${job.name}\u0000${raw}`;
    if (!warned.has(key)) {
      warned.add(key);
      console.warn(`[crondeck] ignoring the run-time overrides of ${job.name} (the code's definition applies): ${error.message}`);
    }
  }
  applied.set(job, { raw, effective });
  return effective;
}

/** Why a stored document does not apply (null: it applies, or there is none). */
export function overridesProblem(job: JobDefinition, stored: StoredOverrides | undefined): OverrideError | null {
  if (!stored || Object.keys(stored.doc).length === 0) return null;
  try {
    applyOverrides(job, parseOverrideDocument(job, stored.doc));
    return null;
  } catch (error) {
    if (error instanceof OverrideError) return error;
    throw error;
  }
}

/** The engine's resolveJob: the job as it runs now, through the process's cache. */
export function overridesResolver(db: Db): (job: JobDefinition) => Promise<JobDefinition> {
  return cachedResolver(overrideCacheFor(db));
}

/** resolveJob over a given cache. */
export function cachedResolver(cache: OverrideCache): (job: JobDefinition) => Promise<JobDefinition> {
  return async (job) => effectiveJob(job, (await cache.all()).get(job.name));
}

/** The registry with every job's overrides applied (what the tick's policy and monitors read). */
export async function effectiveRegistry(registry: JobRegistry, cache: OverrideCache): Promise<JobRegistry> {
  const overrides = await cache.all();
  if (overrides.size === 0) return registry;
  return new JobRegistry(registry.list().map((job) => effectiveJob(job, overrides.get(job.name))));
}
