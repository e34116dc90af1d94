import { JobConfigError } from "./errors";
import type { JobDefinition } from "./define-job";

/** The set of jobs an app runs, looked up by name through a Map (never a plain object). */
export class JobRegistry {
  private readonly byName = new Map<string, JobDefinition>();
  private readonly downstream = new Map<string, JobDefinition[]>();

  constructor(jobs: Iterable<JobDefinition>) {
    for (const job of jobs) {
      if (this.byName.has(job.name)) throw new JobConfigError(`job "${job.name}": name is used by two jobs; job names must be unique`);
      this.byName.set(job.name, job);
    }
    checkDependencyGraph(this.byName);
    for (const job of this.byName.values()) {
      for (const upstream of job.dependsOn ?? []) this.downstream.set(upstream, [...(this.downstream.get(upstream) ?? []), job]);
    }
  }

  get(name: string): JobDefinition | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  list(): JobDefinition[] {
    return [...this.byName.values()];
  }

  /** The jobs that list `name` in their dependsOn (empty: none). */
  dependentsOf(name: string): JobDefinition[] {
    return this.downstream.get(name) ?? [];
  }

  get size(): number {
    return this.byName.size;
  }
}

/**
 * Every dependsOn names a job of the registry, and no chain of them comes back to where it
 * started (a -> b -> a): checked when the registry is built, so a bad graph fails at load, never
 * as a slot that waits forever. The message names the jobs and the path.
 */
function checkDependencyGraph(byName: ReadonlyMap<string, JobDefinition>): void {
  for (const job of byName.values()) {
    const unknown = (job.dependsOn ?? []).filter((name) => !byName.has(name));
    if (unknown.length > 0) {
      throw new JobConfigError(`job "${job.name}": dependsOn names ${unknown.map((n) => `"${n}"`).join(", ")}, not a job of the registry; list the job in the registry or remove it from dependsOn`);
    }
  }
  // Depth-first, each job once: "on path" marks the chain being walked, "done" the jobs whose upstreams are all checked.
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (name: string): void => {
    if (done.has(name)) return;
    if (onPath.has(name)) {
      const cycle = [...path.slice(path.indexOf(name)), name];
      throw new JobConfigError(`job "${name}": dependsOn makes a cycle ${cycle.join(" -> ")}; a job cannot wait for itself`);
    }
    onPath.add(name);
    path.push(name);
    for (const upstream of byName.get(name)?.dependsOn ?? []) visit(upstream);
    path.pop();
    onPath.delete(name);
    done.add(name);
  };
  for (const name of byName.keys()) visit(name);
}

/** The names a list of definitions defines. */
type NamesOf<L extends readonly JobDefinition<string, string>[]> = L[number]["name"];
/** The dependsOn names of one definition that the list does not define (never: all known). */
type UnknownDependencies<J, Names extends string> = J extends JobDefinition<string, infer D> ? Exclude<D, Names> : never;

/**
 * The type-level twin of the registry's load-time check: a `const` list of definitions whose
 * dependsOn all name jobs of the list, or a compile error at the definition that names one it
 * lacks (`JobDefinition<N, D>` keeps the literal names). Returns the list as given.
 *
 *     export const etl = checkDependencies([extract, transform, load]);
 */
export function checkDependencies<const L extends readonly JobDefinition<string, string>[]>(
  jobs: L & { [K in keyof L]: [UnknownDependencies<L[K], NamesOf<L>>] extends [never] ? unknown : { dependsOnUnknownJob: UnknownDependencies<L[K], NamesOf<L>> } },
): L {
  return jobs;
}
