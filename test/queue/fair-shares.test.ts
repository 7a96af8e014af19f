// How a work loop's slots are shared between tenants, and how one claim spreads over them.
import { describe, expect, it } from "bun:test";
import { claimRoundRobin, fairPlan, interleave } from "../../src/queue/fair-shares";

const SLOTS = { slots: 100, batch: 100 };

describe("fair shares of a loop's slots", () => {
  it("gives one tenant alone every free slot", () => {
    const plan = fairPlan(["a"], { ...SLOTS, busyOf: new Map([["a", 60]]), free: 40 });
    expect(plan.limit).toBe(40);
    expect(plan.room("a")).toBe(40);
  });

  it("lets a newcomer claim its share while another tenant holds every slot", () => {
    const plan = fairPlan(["a", "b"], { ...SLOTS, busyOf: new Map([["a", 100]]), free: 0 });
    expect(plan.room("a")).toBe(0);
    expect(plan.room("b")).toBe(50);
    expect(plan.limit).toBe(50);
  });

  it("keeps what all tenants may hold below twice the slots", () => {
    const busyOf = new Map([
      ["a", 100],
      ["b", 50],
    ]);
    const plan = fairPlan(["a", "b", "c"], { ...SLOTS, busyOf, free: 0 });
    expect(plan.room("c")).toBe(33);
    expect(100 + 50 + plan.limit).toBeLessThan(200);
  });
});

describe("one claim over the tenants with due work", () => {
  /** `due` rows per tenant; take hands out what is there. */
  const taker = (due: Record<string, number>) => {
    const left = { ...due };
    return async (tenant: string, n: number) => {
      const k = Math.min(n, left[tenant] ?? 0);
      left[tenant] = (left[tenant] ?? 0) - k;
      return Array.from({ length: k }, (_, i) => `${tenant}${i}`);
    };
  };

  it("offers each tenant an even part, and what one leaves to the others", async () => {
    const got = await claimRoundRobin(
      ["a", "b", "c"],
      { limit: 30, room: () => 30 },
      0,
      taker({ a: 100, b: 2, c: 100 }),
    );
    expect(got.map((l) => l.length)).toEqual([14, 2, 14]);
  });

  it("never gives a tenant more than its room", async () => {
    const got = await claimRoundRobin(
      ["a", "b"],
      { limit: 30, room: (t) => (t === "a" ? 3 : 30) },
      0,
      taker({ a: 100, b: 100 }),
    );
    expect(got.map((l) => l.length)).toEqual([3, 27]);
  });

  it("starts with another tenant on each turn when the parts are uneven", async () => {
    const first = async (turn: number) =>
      (await claimRoundRobin(["a", "b", "c"], { limit: 1, room: () => 1 }, turn, taker({ a: 9, b: 9, c: 9 }))).flat();
    expect([await first(0), await first(1), await first(2)]).toEqual([["a0"], ["b0"], ["c0"]]);
  });

  it("interleaves the tenants' rows, one of each in turn", () => {
    expect(interleave([["a1", "a2", "a3"], ["b1"], ["c1", "c2"]])).toEqual(["a1", "b1", "c1", "a2", "c2", "a3"]);
  });
});
