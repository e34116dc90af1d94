import { backfillFeatureJobs } from "./backfill";
import { dependencyFeatureJobs } from "./dependencies";
import { inputFeatureJobs } from "./input";
import { overrideFeatureJobs } from "./overrides";
import { scheduleFeatureJobs } from "./schedule";
import { snoozeFeatureJobs } from "./snooze";

/** The schedule features' test jobs (CRONDECK_FEATURE_JOBS=1): intervals, dependencies, input, backfill, snooze, overrides. */
export const featureJobs = [...scheduleFeatureJobs, ...dependencyFeatureJobs, ...inputFeatureJobs, ...backfillFeatureJobs, ...snoozeFeatureJobs, ...overrideFeatureJobs];
