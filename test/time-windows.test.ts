import { describe, expect, it } from "bun:test";
import { patternForWindow } from "../src/scheduler";
import { dayWindowStart, HOUR_MS, hourWindowStart, nextHourWindowStart } from "../src/time-windows";

describe("time windows", () => {
  it("puts an instant in its UTC hour and UTC day", () => {
    const at = Date.parse("2024-03-10T17:42:13.250Z");
    expect(new Date(hourWindowStart(at)).toISOString()).toBe("2024-03-10T17:00:00.000Z");
    expect(new Date(dayWindowStart(at)).toISOString()).toBe("2024-03-10T00:00:00.000Z");
    expect(new Date(nextHourWindowStart(at)).toISOString()).toBe("2024-03-10T18:00:00.000Z");
  });

  it("treats a window's first millisecond as inside it and its last as before the next", () => {
    const start = Date.parse("2024-03-10T17:00:00.000Z");
    expect(hourWindowStart(start)).toBe(start);
    expect(hourWindowStart(start + HOUR_MS - 1)).toBe(start);
    expect(dayWindowStart(Date.parse("2024-03-10T23:59:59.999Z"))).toBe(Date.parse("2024-03-10T00:00:00.000Z"));
  });

  it.each([
    [1_000, "* * * * * *"],
    [5_000, "*/5 * * * * *"],
    [60_000, "0 * * * * *"],
    [15 * 60_000, "0 */15 * * * *"],
    [HOUR_MS, "0 0 * * * *"],
    [6 * HOUR_MS, "0 0 */6 * * *"],
    [24 * HOUR_MS, "0 0 0 * * *"],
  ])("ticks a %i ms window at its starts with %s", (windowMs, pattern) => {
    expect(patternForWindow(windowMs)).toBe(pattern);
  });

  it.each([[1_500], [7_000], [90_000], [7 * 60_000], [5 * HOUR_MS], [48 * HOUR_MS]])(
    "refuses a %i ms window, whose starts would drift against the clock",
    (windowMs) => {
      expect(() => patternForWindow(windowMs)).toThrow(/windowMs/);
    },
  );
});
