// Which domains are bounce domains, and whose: every tenant's default and every SMTP account's
// `bounce_domain`. The listener asks at each RCPT TO, so the whole (short) list is read at once
// and kept for a few seconds; a domain just configured is accepted within BOUNCE_DOMAINS_TTL_MS.
import type { Db } from "../db";
import { accountBounceDomains } from "../smtp-accounts";
import { tenantBounceDomains } from "../tenants";

export const BOUNCE_DOMAINS_TTL_MS = 10_000;

export class BounceDomains {
  readonly #db: Db;
  readonly #now: () => number;
  #byDomain: Promise<Map<string, Set<string>>> | undefined;
  #readAt = 0;

  constructor(db: Db, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  /** The tenants whose mail comes back to this domain; undefined when it is no bounce domain. */
  async tenantsOf(domain: string): Promise<ReadonlySet<string> | undefined> {
    return (await this.#load()).get(domain.toLowerCase().replace(/\.$/, ""));
  }

  /** The next question reads the list again (after a change this process made). */
  forget(): void {
    this.#byDomain = undefined;
  }

  #load(): Promise<Map<string, Set<string>>> {
    if (this.#byDomain && this.#now() - this.#readAt < BOUNCE_DOMAINS_TTL_MS) return this.#byDomain;
    this.#readAt = this.#now();
    const loading = this.#read();
    this.#byDomain = loading;
    // A failed read is not kept: the next RCPT asks the database again.
    loading.catch(() => {
      if (this.#byDomain === loading) this.#byDomain = undefined;
    });
    return loading;
  }

  async #read(): Promise<Map<string, Set<string>>> {
    const [tenants, accounts] = await Promise.all([
      tenantBounceDomains(this.#db.kysely),
      accountBounceDomains(this.#db),
    ]);
    const byDomain = new Map<string, Set<string>>();
    for (const row of [...tenants, ...accounts]) {
      const domain = row.bounce_domain.toLowerCase();
      const owners = byDomain.get(domain) ?? new Set<string>();
      owners.add(row.tenant_id);
      byDomain.set(domain, owners);
    }
    return byDomain;
  }
}

/** The domain of an envelope address (lower-case), or undefined for one without `@`. */
export function domainOfAddress(address: string): string | undefined {
  const at = address.lastIndexOf("@");
  return at > 0 ? address.slice(at + 1).toLowerCase() : undefined;
}
