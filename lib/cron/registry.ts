import { JobConfigError } from "./errors";
import type { JobDefinition } from "./define-job";

/** The set of jobs an app runs, looked up by name through a Map (never a plain object). */
export class JobRegistry {
  private readonly byName = new Map<string, JobDefinition>();

  constructor(jobs: Iterable<JobDefinition>) {
    for (const job of jobs) {
      if (this.byName.has(job.name)) throw new JobConfigError(`job "${job.name}": name is used by two jobs; job names must be unique`);
      this.byName.set(job.name, job);
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

  get size(): number {
    return this.byName.size;
  }
}
