import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { alias: { "@": import.meta.dirname } },
  test: {
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["tests/unit/**/*.test.ts"], environment: "node" },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Files run in parallel, each on its own PGlite and its own database on the server.
          pool: "forks",
        },
      },
      {
        extends: true,
        test: {
          name: "http",
          include: ["tests/http/**/*.test.ts"],
          environment: "node",
          // Real HTTP against `next start` on one `next build` (CRONDECK_SKIP_BUILD=1 reuses .next/).
          globalSetup: ["tests/support/build-next.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          pool: "forks",
        },
      },
      {
        extends: true,
        test: {
          name: "faults",
          include: ["tests/faults/**/*.test.ts"],
          environment: "node",
          // The same build as the http project (the setup builds once per vitest run).
          globalSetup: ["tests/support/build-next.ts"],
          testTimeout: 240_000,
          hookTimeout: 180_000,
          pool: "forks",
          // Each file runs several `next start` processes and times leases: one file at a time
          // keeps a 2-core machine from stretching heartbeats past their leases.
          maxWorkers: 1,
        },
      },
    ],
  },
});
