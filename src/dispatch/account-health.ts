// How each account has done lately, as this process saw it: the dispatcher tries the
// healthiest account first and fails over away from one that keeps failing.
const WINDOW = 50;

interface Recent {
  results: boolean[];
  consecutiveFailures: number;
}

export class AccountHealth {
  readonly #byAccount = new Map<string, Recent>();

  record(accountId: string, ok: boolean): void {
    let r = this.#byAccount.get(accountId);
    if (!r) {
      r = { results: [], consecutiveFailures: 0 };
      this.#byAccount.set(accountId, r);
    }
    r.results.push(ok);
    if (r.results.length > WINDOW) r.results.shift();
    r.consecutiveFailures = ok ? 0 : r.consecutiveFailures + 1;
  }

  /** 0 (failing) … 1 (all good); an account not tried yet counts as healthy. */
  score(accountId: string, storedConsecutiveFailures = 0): number {
    const r = this.#byAccount.get(accountId);
    const failures = Math.max(r?.consecutiveFailures ?? 0, r ? 0 : storedConsecutiveFailures);
    const rate = r && r.results.length > 0 ? r.results.filter(Boolean).length / r.results.length : 1;
    return rate / (1 + failures);
  }
}
