// In-process wake-ups: the API tells the dispatcher that work arrived, so a queued email is
// picked up at once instead of at the next poll. (Other instances learn of it by polling.)
type Listener<A extends unknown[]> = (...args: A) => void;

export class QueueSignals {
  readonly #queued = new Set<Listener<[]>>();
  readonly #accounts = new Set<Listener<[string]>>();

  /** Something became due now (an email accepted, released or rescued). */
  emailQueued(): void {
    for (const fn of this.#queued) fn();
  }

  /** A tenant's SMTP accounts were created, changed or removed. */
  accountsChanged(tenantId: string): void {
    for (const fn of this.#accounts) fn(tenantId);
  }

  onEmailQueued(fn: Listener<[]>): () => void {
    this.#queued.add(fn);
    return () => this.#queued.delete(fn);
  }

  onAccountsChanged(fn: Listener<[string]>): () => void {
    this.#accounts.add(fn);
    return () => this.#accounts.delete(fn);
  }
}
