// Sends in flight per SMTP account: each account of a tenant with several is bounded, an email
// whose every candidate is at its bound waits for the first to free one, in arrival order.
import { describe, expect, it } from "bun:test";
import { ACCOUNT_DEPTH, AccountSlots } from "../../src/dispatch/account-slots";

const account = (id: string, over: { max_connections?: number; weight?: number } = {}) => ({
  id,
  tenant_id: "tenant",
  max_connections: 5,
  weight: 1,
  ...over,
});

const slow = account("slow");
const fast = account("fast");
const both = [slow, fast];

/** Settles pending promise callbacks, so a waiter that was handed an account has it. */
const settle = () => new Promise((r) => setTimeout(r, 0));

describe("account slots", () => {
  it("bounds an account by its connections, or by its weighted part of the tenant's share when that is smaller", () => {
    const slots = new AccountSlots(() => 100);
    expect(slots.bound(slow, both)).toBe(ACCOUNT_DEPTH * 5);
    const wide = account("wide", { max_connections: 50 });
    expect(slots.bound(wide, [wide, fast])).toBe(50);
    const heavy = account("heavy", { max_connections: 50, weight: 3 });
    expect(slots.bound(heavy, [heavy, fast])).toBe(75);
    // A tenant among many: its share is small, but each account may always have one send.
    expect(new AccountSlots(() => 1).bound(slow, both)).toBe(1);
  });

  it("does not bound the only active account of a tenant: it has the tenant's whole share", async () => {
    const slots = new AccountSlots(() => 100);
    for (let i = 0; i < 100; i++) expect(await slots.acquire([slow], [slow])).toBe(slow);
    expect(slots.inFlight("slow")).toBe(100);
  });

  it("skips an account at its bound for one below it", async () => {
    const slots = new AccountSlots(() => 100);
    for (let i = 0; i < ACCOUNT_DEPTH * 5; i++) expect(await slots.acquire(both, both)).toBe(slow);
    expect(await slots.acquire(both, both)).toBe(fast);
  });

  it("holds an email while every candidate is at its bound, and hands it the first send that frees", async () => {
    const slots = new AccountSlots(() => 2);
    expect(await slots.acquire(both, both)).toBe(slow);
    expect(await slots.acquire(both, both)).toBe(fast);
    const got: string[] = [];
    const pinned = slots.acquire([slow], both).then((a) => got.push(`pinned:${a?.id}`));
    const free = slots.acquire(both, both).then((a) => got.push(`free:${a?.id}`));
    await settle();
    expect(got).toEqual([]);
    // The oldest waiter that may use the freed account takes it; the pinned one waits for its own.
    slots.release(fast);
    await free;
    expect(got).toEqual(["free:fast"]);
    slots.release(slow);
    await pinned;
    expect(got).toEqual(["free:fast", "pinned:slow"]);
    expect(slots.inFlight("slow")).toBe(1);
    expect(slots.inFlight("fast")).toBe(1);
  });

  it("gives waiting emails back unsent when closed, and takes none until opened again", async () => {
    const slots = new AccountSlots(() => 2);
    await slots.acquire([slow], both);
    const waiting = slots.acquire([slow], both);
    slots.close();
    expect(await waiting).toBeUndefined();
    expect(await slots.acquire([fast], both)).toBeUndefined();
    slots.open();
    expect(await slots.acquire([fast], both)).toBe(fast);
  });
});
