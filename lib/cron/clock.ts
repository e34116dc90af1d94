/**
 * Time, as a port: the engine and the tick read the clock and set timers only through a
 * Clock, so tests drive them with a fake one instead of sleeping. `systemClock` is the real one.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /**
   * Milliseconds from an arbitrary origin that a change of the wall clock does not move
   * (performance.now). Optional: with it, a steady reading measures across a step back exactly.
   */
  monotonic?(): number;
}

/** Opaque: whatever the clock's setTimeout returned. */
export type TimerHandle = unknown;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  monotonic: () => performance.now(),
};

/** Resolves after `ms` on `clock`, or at once (with the abort) when `signal` aborts. */
export function sleepOn(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const done = () => {
      clock.clearTimeout(handle);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const handle = clock.setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * A reading of `read` (a wall clock) that never goes backwards: a step back (an NTP correction)
 * is absorbed, the time since the previous reading counted by `monotonic` when there is one, so
 * the durations and deadlines measured with it are neither stretched nor cut by the step. Steps
 * forward pass through: a suspended machine, whose monotonic clock may have stood still, must
 * still see its lease as expired.
 */
function steadyNow(read: () => number, monotonic?: () => number): () => number {
  let last = -Infinity;
  let lastMonotonic = 0;
  let offset = 0;
  return () => {
    const mono = monotonic?.() ?? 0;
    let reading = read() + offset;
    if (reading < last) {
      const continued = last + Math.max(0, mono - lastMonotonic);
      offset += continued - reading;
      reading = continued;
    }
    last = reading;
    lastMonotonic = mono;
    return reading;
  };
}

/** The steady reading of a clock, or of another wall-clock `read` with the clock's monotonic time (see {@link steadyNow}). */
export function steadyNowOf(clock: Clock, read: () => number = () => clock.now()): () => number {
  return steadyNow(read, clock.monotonic && (() => clock.monotonic!()));
}

/** Lets the process exit while `handle` is pending, when the clock's timers support it (Node's do). */
export function unrefTimer(handle: TimerHandle): void {
  (handle as { unref?: () => void } | null)?.unref?.();
}
