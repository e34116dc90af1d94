/** The read side's former single module, for bench/dashboard.ts until it imports lib/db/queries/<concern> directly. */
export { jobsOverview, jobState } from "./queries/jobs";
export { jobHistory, runningJobs } from "./queries/runs";
export { statistics } from "./queries/statistics";
