// Fairness between one tenant's SMTP accounts: sends in flight per account, each bounded, so a
// slow (tarpit) account holds only a few of the tenant's send slots and the rest of its mail
// goes through the tenant's other accounts. An email whose every candidate account is at its
// bound waits here, in memory, for the first of them to free a send (first come, first served);
// it keeps its claim (the heartbeat extends its lease) and its dispatcher slot, as a send queued
// inside the account's pool would, and no attempt is counted.
//
// The bound is the smaller of ACCOUNT_DEPTH × the account's max_connections (sends beyond its
// connections only queue inside its pool) and its weighted part of the tenant's share of the
// slots (so an account with many connections still leaves room for the others). A tenant with
// one active account is not bounded: that account has the tenant's whole share.
import type { SendableAccount } from "../smtp-accounts";

/**
 * Sends in flight an account may have, per connection: one on the wire and one ready behind it,
 * so its connections never wait for the next message to be composed.
 */
export const ACCOUNT_DEPTH = 2;

type Account = Pick<SendableAccount, "id" | "tenant_id" | "max_connections" | "weight">;

interface Waiter {
  candidates: readonly Account[];
  /** The tenant's active accounts, which the bounds are shares of. */
  tenantAccounts: readonly Account[];
  resolve(account: Account | undefined): void;
}

export class AccountSlots {
  readonly #inFlight = new Map<string, number>();
  /** Oldest first. */
  readonly #waiters: Waiter[] = [];
  #closed = false;

  /** `tenantShare`: the send slots the tenant may hold now (the dispatcher's fair share). */
  constructor(private readonly tenantShare: (tenantId: string) => number) {}

  /** How many sends `account` may have in flight while the tenant has `tenantAccounts` active. */
  bound(account: Account, tenantAccounts: readonly Account[]): number {
    if (tenantAccounts.length <= 1) return Number.POSITIVE_INFINITY;
    const weights = tenantAccounts.reduce((sum, a) => sum + Math.max(a.weight, 1), 0);
    const share = Math.floor((this.tenantShare(account.tenant_id) * Math.max(account.weight, 1)) / weights);
    return Math.max(1, Math.min(ACCOUNT_DEPTH * account.max_connections, share));
  }

  inFlight(accountId: string): number {
    return this.#inFlight.get(accountId) ?? 0;
  }

  /**
   * Takes a send on the first of `candidates` (in the order given) below its bound; when every
   * one is at its bound, waits for the first of them to free one. Resolves undefined once
   * closed: the email is not sent now. Every account returned must be given back (`release`).
   */
  acquire<A extends Account>(candidates: readonly A[], tenantAccounts: readonly Account[]): Promise<A | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    const open = this.#firstOpen(candidates, tenantAccounts);
    if (open) {
      this.#take(open);
      return Promise.resolve(open);
    }
    return new Promise((resolve) =>
      this.#waiters.push({ candidates, tenantAccounts, resolve: resolve as Waiter["resolve"] }),
    );
  }

  /** A send through `account` is over: the oldest email waiting for it (and below its bound) takes it. */
  release(account: Account): void {
    const left = this.inFlight(account.id) - 1;
    if (left <= 0) this.#inFlight.delete(account.id);
    else this.#inFlight.set(account.id, left);
    for (let i = 0; i < this.#waiters.length; i++) {
      const w = this.#waiters[i]!;
      const candidate = w.candidates.find((a) => a.id === account.id);
      if (!candidate) continue;
      if (this.inFlight(account.id) >= this.bound(candidate, w.tenantAccounts)) return;
      this.#waiters.splice(i, 1);
      this.#take(candidate);
      w.resolve(candidate);
      return;
    }
  }

  /** The dispatcher (re)starts. */
  open(): void {
    this.#closed = false;
  }

  /** The dispatcher is stopping: every waiting email goes back to the queue unsent. */
  close(): void {
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) w.resolve(undefined);
  }

  #firstOpen<A extends Account>(candidates: readonly A[], tenantAccounts: readonly Account[]): A | undefined {
    return candidates.find((a) => this.inFlight(a.id) < this.bound(a, tenantAccounts));
  }

  #take(account: Account): void {
    this.#inFlight.set(account.id, this.inFlight(account.id) + 1);
  }
}
