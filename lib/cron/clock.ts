/**
 * Time, as a port: the engine and the tick read the clock and set timers only through a
 * Clock, so tests drive them with a fake one instead of sleeping. `systemClock` is the real one.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Opaque: whatever the clock's setTimeout returned. */
export type TimerHandle = unknown;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
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
 * A reading of `read` that never goes backwards: a step back of the wall clock (an NTP
 * correction) is absorbed, so the durations and deadlines measured with it are neither
 * stretched nor cut by it. Steps forward pass through (a frozen process sees those too).
 */
export function steadyNow(read: () => number): () => number {
  let last = -Infinity;
  let offset = 0;
  return () => {
    const reading = read() + offset;
    if (reading >= last) return (last = reading);
    offset += last - reading;
    return last;
  };
}

/** Lets the process exit while `handle` is pending, when the clock's timers support it (Node's do). */
export function unrefTimer(handle: TimerHandle): void {
  (handle as { unref?: () => void } | null)?.unref?.();
}
