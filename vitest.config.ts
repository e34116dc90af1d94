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
    ],
  },
});
