#!/usr/bin/env bash
# npm test: type-check, then every vitest project (unit, integration on PGlite and, when
# TEST_DATABASE_URL is set, on the Postgres server; http and faults against `next start`),
# then the Playwright browser tests. Without TEST_DATABASE_URL the parts that need a Postgres
# server are skipped, and the closing "N passed, N failed, N skipped (N: why)" line says so.
# No test reads the .env* files (tests/support/next-server.ts childEnv).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-results

status=0
echo "== type-check"
npx tsc --noEmit -p . || status=1

echo "== vitest (unit, integration, http, faults)"
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@" || status=1

if [ -f playwright.config.ts ] && [ $# -eq 0 ]; then
  echo "== playwright (e2e)"
  npx playwright test --reporter=list,json 2>&1 | tee test-results/playwright.log || status=1
fi

node scripts/test-summary.mjs || status=1
exit $status
