// Which of a tenant's accounts to try, in order: a pinned account only; otherwise the active
// accounts allowed to send as this `from`, healthiest first, the default account before
// others of equal health, then by weight (weighted random, so load spreads as configured).
import { fromAllowed, type SendableAccount } from "../smtp-accounts";
import type { AccountHealth } from "./account-health";

/** Health scores closer than this count as equal, so weight decides between them. */
const HEALTH_BAND = 0.25;

export function eligibleAccounts(
  accounts: SendableAccount[],
  email: { pinned_smtp_account_id: string | null; from_email: string | null },
): SendableAccount[] {
  const pool = email.pinned_smtp_account_id ? accounts.filter((a) => a.id === email.pinned_smtp_account_id) : accounts;
  return pool.filter((a) => a.active && (!email.from_email || fromAllowed(a, email.from_email)));
}

export function orderAccounts(
  accounts: SendableAccount[],
  health: AccountHealth,
  opts: { avoid?: string | null; random?: () => number } = {},
): SendableAccount[] {
  const random = opts.random ?? Math.random;
  const keyed = accounts.map((a) => {
    let score = health.score(a.id, a.consecutive_failures);
    // Fail over: the account that just failed this email goes last when there is another.
    if (opts.avoid && a.id === opts.avoid && accounts.length > 1) score = -1;
    // Weighted random order (Efraimidis–Spirakis): key = u^(1/weight), larger first.
    return { a, band: Math.floor(score / HEALTH_BAND), key: random() ** (1 / Math.max(a.weight, 1)) };
  });
  keyed.sort((x, y) => y.band - x.band || Number(y.a.is_default) - Number(x.a.is_default) || y.key - x.key);
  return keyed.map((k) => k.a);
}
