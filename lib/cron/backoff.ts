import type { BackoffStrategy } from "./vocabulary";

/** How long to wait before the next attempt. */
export interface BackoffPolicy {
  strategy: BackoffStrategy;
  /** Base delay in ms: the fixed delay, the linear step, or the first exponential delay. */
  delayMs: number;
  /** Growth per attempt for `exponential` (2: 1m, 2m, 4m). */
  factor: number;
  /** Upper bound for any one delay, in ms. */
  maxDelayMs: number;
  /** Spread each delay uniformly over [delay/2, delay] so retries from many jobs do not line up. */
  jitter: boolean;
}

/**
 * Delay before attempt `failedAttempt + 1`, after attempt `failedAttempt` (1-based) failed.
 * linear 5s: 5s, 10s, 15s. exponential 5s x3: 5s, 15s, 45s.
 */
export function backoffDelayMs(policy: BackoffPolicy, failedAttempt: number, random: () => number = Math.random): number {
  let delay: number;
  switch (policy.strategy) {
    case "immediate":
      return 0;
    case "fixed":
      delay = policy.delayMs;
      break;
    case "linear":
      delay = policy.delayMs * failedAttempt;
      break;
    case "exponential":
      delay = policy.delayMs * policy.factor ** (failedAttempt - 1);
      break;
  }
  delay = Math.min(delay, policy.maxDelayMs);
  if (policy.jitter) delay = delay / 2 + random() * (delay / 2);
  return Math.round(delay);
}
