/**
 * Sentry for the Node.js server runtime, imported by instrumentation.ts's register().
 * Without SENTRY_DSN nothing is initialised and lib/alerts/sentry.ts's calls are no-ops.
 *
 * @sentry/nextjs 11 has no `sendDefaultPii`: `dataCollection` replaces it, and its defaults
 * collect user info, cookies, headers, bodies, query strings, database query data and local
 * variables. Crondeck sends none of them: error messages, stacks and cron check-ins, and request
 * transactions (without headers, bodies or query strings) when SENTRY_TRACES_SAMPLE_RATE is above 0.
 */
import * as Sentry from "@sentry/nextjs";
import { keepDsnKeyOutOfTraces, secretScrubbing } from "./lib/alerts/sentry";
import { loadEnv, secretsOf } from "./lib/env";

const dsn = process.env.SENTRY_DSN?.trim();

if (dsn) {
  Sentry.init({
    dsn,
    environment: process.env.SENTRY_ENVIRONMENT || process.env.VERCEL_ENV || process.env.NODE_ENV,
    release: process.env.VERCEL_GIT_COMMIT_SHA || process.env.CRONDECK_CODE_VERSION || undefined,
    // Performance tracing (transactions) for this share of requests, SENTRY_TRACES_SAMPLE_RATE
    // (0 to 1, default 0: errors and check-ins only). lib/env.ts validates the value.
    tracesSampleRate: loadEnv().SENTRY_TRACES_SAMPLE_RATE,
    dataCollection: {
      userInfo: false,
      cookies: false,
      httpHeaders: false,
      httpBodies: [],
      urlQueryParams: false,
      databaseQueryData: false,
      queues: false,
      stackFrameVariables: false,
      genAI: { inputs: false, outputs: false },
      graphQL: { document: false, variables: false },
    },
    // No trace headers on requests to Slack, the alert webhook or HEALTHCHECK_URLS: they are not ours.
    tracePropagationTargets: [],
    // Every configured secret out of every event and breadcrumb, whatever captured it.
    ...secretScrubbing(() => secretsOf(loadEnv())),
  });
  keepDsnKeyOutOfTraces();
}
