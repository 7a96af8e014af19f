// A clock a test moves by hand, for code that takes `now: () => number` (caches, windows,
// schedulers), and scheduler ticks given by hand: time passes exactly when the test says, with
// no real waiting.
import type { TickSource } from "../../src/scheduler";
export interface TestClock {
  now: () => number;
  advance(ms: number): void;
}

export function testClock(start = Date.UTC(2026, 0, 1)): TestClock {
  let at = start;
  return {
    now: () => at,
    advance(ms) {
      at += ms;
    },
  };
}

/** A scheduler's tick source ticked by hand: `tick()` runs every live registration once and waits for them. */
export function handTicks(): { ticks: TickSource; tick(): Promise<void> } {
  const live = new Set<() => Promise<void>>();
  return {
    ticks: (_pattern, tick) => {
      live.add(tick);
      return { stop: () => live.delete(tick) };
    },
    async tick() {
      await Promise.all([...live].map((tick) => tick()));
    },
  };
}
