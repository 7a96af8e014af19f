// A clock a test moves by hand, for code that takes `now: () => number` (caches, windows,
// schedulers): time passes exactly when the test says, with no real waiting.
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
