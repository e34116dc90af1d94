#!/usr/bin/env bash
# What a newcomer does, followed literally: a fresh clone, the README's install command (which
# must leave the tree clean), `npm run dev` on a free port, a job of their own added the
# README's way while dev runs (it must run on its schedule without a restart), `crondeck
# trigger` for it, and then (with --test) `npm test` in that same tree, with the .env.local dev
# wrote and the extra job listed. Prints the timings and writes them to
# bench/results/newcomer.json in the checkout it was started from.
#
#   bash scripts/newcomer.sh          # the walk, then removes the clone
#   bash scripts/newcomer.sh --test   # the walk, then npm test in the clone (what CI runs)
#   bash scripts/newcomer.sh --keep   # leaves the clone for a look
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
run_tests=0
keep=0
for arg in "$@"; do
  case "$arg" in
    --test) run_tests=1 ;;
    --keep) keep=1 ;;
    *) echo "usage: bash scripts/newcomer.sh [--test] [--keep]" >&2; exit 2 ;;
  esac
done

dir="$(mktemp -d /tmp/crondeck-newcomer.XXXXXX)"
dev_pid=""
stop_dev() {
  if [ -n "$dev_pid" ] && kill -0 "$dev_pid" 2>/dev/null; then
    kill -TERM -- "-$dev_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$dev_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$dev_pid" 2>/dev/null || true
  fi
  dev_pid=""
}
cleanup() {
  stop_dev
  if [ "$keep" = 1 ]; then echo "newcomer: the clone is kept in $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

step() { printf '\n== newcomer: %s (%ss)\n' "$1" "$(( $(date +%s) - t0 ))"; }
fail() {
  echo "newcomer: FAILED: $1" >&2
  if [ -f "$dir/dev.log" ]; then echo "---- npm run dev output (last 60 lines)" >&2; tail -n 60 "$dir/dev.log" >&2; fi
  exit 1
}
now_ms() { node -e 'console.log(Date.now())'; }

t0=$(date +%s)
start_ms=$(now_ms)

step "git clone"
git clone -q "$src" "$dir/app"
cd "$dir/app"

step "npm install (the README's command)"
npm install --no-audit --no-fund --loglevel=error >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; fail "npm install failed"; }
if [ -n "$(git status --porcelain)" ]; then
  git status --short >&2
  git diff --stat >&2
  fail "npm install changed the fresh clone (see above): the lockfile must already be what npm writes"
fi
echo "the tree is clean after npm install"
install_done_ms=$(now_ms)

port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
base="http://localhost:$port"
step "npm run dev -- -p $port"
# Its own process group, so stopping it stops next dev and everything under it.
setsid npm run dev -- -p "$port" >"$dir/dev.log" 2>&1 &
dev_pid=$!
for _ in $(seq 1 360); do
  grep -q "\[crondeck\] dashboard:" "$dir/dev.log" && break
  kill -0 "$dev_pid" 2>/dev/null || fail "npm run dev exited"
  sleep 0.5
done
grep -q "\[crondeck\] dashboard: $base/" "$dir/dev.log" || fail "no banner naming $base within 180 s"
[ -f .env.local ] || fail "npm run dev did not write .env.local"
health="$(curl -s -o /dev/null -w '%{http_code}' "$base/api/health")"
[ "$health" = 200 ] || fail "GET /api/health answered $health"
dev_up_ms=$(now_ms)
echo "dev answers on $base (health 200)"

step "add a job of one's own, the README's way, while dev runs"
cat >lib/jobs/newcomer-job.ts <<'TS'
import { defineJob } from "../cron/define-job";

export default defineJob({
  name: "newcomer-job",
  schedule: "* * * * *",
  description: "A newcomer's first job",
  category: "newcomer",
  timeout: "30s",
  handler: async (ctx) => {
    ctx.log("hello from the newcomer's job");
    return { greeted: true };
  },
});
TS
# List it in `jobs` in lib/jobs/index.ts.
node - <<'JS'
const fs = require("node:fs");
const file = "lib/jobs/index.ts";
let text = fs.readFileSync(file, "utf8");
text = text.replace(/^(import healthCheck from "\.\/health-check";)$/m, '$1\nimport newcomerJob from "./newcomer-job";');
text = text.replace(/export const jobs: readonly JobDefinition\[\] = \[([^\]]*)\];/, (_, list) => `export const jobs: readonly JobDefinition[] = [${list}, newcomerJob];`);
if (!text.includes("newcomerJob]")) { console.error("could not list the job in lib/jobs/index.ts"); process.exit(1); }
fs.writeFileSync(file, text);
JS
added_ms=$(now_ms)
npm run -s cron:sync || fail "npm run cron:sync failed"
grep -q '/api/cron/execute/newcomer-job' vercel.json || fail "cron:sync did not add the job to vercel.json"

step "wait for the local scheduler to run it on its schedule (no restart)"
ran=0
for _ in $(seq 1 360); do
  if grep -q "GET /api/cron/execute/newcomer-job -> 200" "$dir/dev.log"; then ran=1; break; fi
  kill -0 "$dev_pid" 2>/dev/null || fail "npm run dev exited"
  sleep 0.5
done
[ "$ran" = 1 ] || fail "newcomer-job did not run on its schedule within 180 s of being added"
first_run_ms=$(now_ms)
grep -E "picked up newcomer-job|newcomer-job" "$dir/dev.log" | head -n 3

step "crondeck trigger newcomer-job"
npm run -s cron -- trigger newcomer-job >"$dir/trigger.log" 2>&1 || { cat "$dir/trigger.log" >&2; fail "crondeck trigger newcomer-job failed"; }
cat "$dir/trigger.log"
grep -qi "completed" "$dir/trigger.log" || fail "crondeck trigger did not report a completed run"

# Memory of the whole dev process tree, idle after the runs above (RSS, MiB).
dev_rss_mib="$(ps -o rss= -g "$dev_pid" 2>/dev/null | awk '{s+=$1} END {printf "%.0f", s/1024}')"
stop_dev
echo "npm run dev stopped"

clone_to_first_run_s=$(( (first_run_ms - start_ms) / 1000 ))
added_to_first_run_s=$(( (first_run_ms - added_ms) / 1000 ))
install_s=$(( (install_done_ms - start_ms) / 1000 ))
dev_start_s=$(( (dev_up_ms - install_done_ms) / 1000 ))

step "vercel.json for each plan passes vercel check"
for plan in hobby pro; do
  CRON_PLAN=$plan npm run -s cron:sync || fail "CRON_PLAN=$plan npm run cron:sync failed"
  npm run -s cron -- vercel check --plan "$plan" || fail "vercel check --plan $plan refused what cron:sync wrote for it"
done
git checkout -q vercel.json
CRON_PLAN=pro npm run -s cron:sync >/dev/null

summary="$(printf '{"clone_to_first_scheduled_run_s":%s,"job_added_to_first_run_s":%s,"clone_and_install_s":%s,"dev_start_s":%s,"dev_tree_rss_mib":%s}' \
  "$clone_to_first_run_s" "$added_to_first_run_s" "$install_s" "$dev_start_s" "${dev_rss_mib:-0}")"
step "timings"
echo "$summary"
mkdir -p "$src/bench/results"
echo "$summary" >"$src/bench/results/newcomer.json"

if [ "$run_tests" = 1 ]; then
  step "npm test in the same tree (.env.local present, newcomer-job listed)"
  [ -f .env.local ] || fail ".env.local is gone"
  grep -q newcomerJob lib/jobs/index.ts || fail "the job is no longer listed"
  npm test
fi
