// Fairness between tenants, shared by the email and webhook work loops: how many of a loop's
// slots each tenant may take now, and how one claim spreads over the tenants with due work.
//
// A tenant's share is the loop's slots divided by the tenants it is serving or that have due
// work. Below its share a tenant may always claim, even when others hold every slot (a newcomer
// does not wait for a tarpit's sends to end); above it, only slots nobody else wants. So one
// tenant alone still gets every slot, and the slots in use stay below twice the setting.

/** What a claim may take: `limit` in all, at most `room(tenant)` for each due tenant. */
export interface ClaimPlan {
  limit: number;
  room(tenantId: string): number;
}

/** Each tenant's part of `slots` when `tenants` are being served. */
export function fairShare(slots: number, tenants: number): number {
  return Math.max(1, Math.floor(slots / Math.max(tenants, 1)));
}

/**
 * `slots`: the loop's concurrency; `busyOf`: slots in use per tenant; `free`: slots free for
 * anyone now (0 while the loop waits to refill in a batch); `batch`: most rows in one claim.
 */
export function fairPlan(
  dueTenants: readonly string[],
  s: { slots: number; busyOf: ReadonlyMap<string, number>; free: number; batch: number },
): ClaimPlan {
  const served = new Set(dueTenants);
  for (const [tenant, n] of s.busyOf) if (n > 0) served.add(tenant);
  const share = fairShare(s.slots, served.size);
  const owed = (t: string) => Math.max(share - (s.busyOf.get(t) ?? 0), 0);
  const free = Math.max(s.free, 0);
  let owedInAll = 0;
  for (const t of dueTenants) owedInAll += owed(t);
  return {
    limit: Math.min(s.batch, Math.max(free, owedInAll)),
    room: (t) => Math.max(owed(t), free),
  };
}

/**
 * Round robin over `tenants` (starting at `turn`, so no tenant is always first): each round
 * offers every tenant that still has work and room an even part of what is left, until the
 * limit is reached or nobody takes more. `take` claims up to `n` for one tenant and answers
 * what it got; fewer than asked means that tenant has nothing more for this claim.
 */
export async function claimRoundRobin<T>(
  tenants: readonly string[],
  plan: ClaimPlan,
  turn: number,
  take: (tenantId: string, n: number) => Promise<T[]>,
): Promise<T[][]> {
  const start = tenants.length > 0 ? turn % tenants.length : 0;
  const order = [...tenants.slice(start), ...tenants.slice(0, start)];
  const room = new Map(order.map((t) => [t, plan.room(t)]));
  const got = new Map<string, T[]>(order.map((t) => [t, []]));
  let left = plan.limit;
  let open = order.filter((t) => room.get(t)! > 0);
  while (left > 0 && open.length > 0) {
    const each = Math.floor(left / open.length);
    const extra = left % open.length;
    const next: string[] = [];
    for (let i = 0; i < open.length && left > 0; i++) {
      const t = open[i]!;
      const want = Math.min(each + (i < extra ? 1 : 0), room.get(t)!, left);
      if (want === 0) {
        next.push(t);
        continue;
      }
      const rows = await take(t, want);
      got.get(t)!.push(...rows);
      room.set(t, room.get(t)! - rows.length);
      left -= rows.length;
      if (rows.length === want && room.get(t)! > 0) next.push(t);
    }
    // Each round someone is offered at least one (left > 0): it takes it, or it drops out.
    open = next;
  }
  return order.map((t) => got.get(t)!);
}

/** Interleaves each tenant's rows (one of each in turn), so sends start in a fair order. */
export function interleave<T>(lists: T[][]): T[] {
  const out: T[] = [];
  const total = lists.reduce((n, l) => n + l.length, 0);
  for (let i = 0; out.length < total; i++) for (const l of lists) if (i < l.length) out.push(l[i]!);
  return out;
}
