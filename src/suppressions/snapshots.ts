// The accept path asks "is any recipient suppressed?" for every email. The answer there may be
// a second or two stale — the dispatcher asks the database again right before sending, and that
// answer decides — so each tenant's list is held in memory briefly instead of queried per email
// (most tenants' lists are empty or small). A list too long to hold is queried as before.
import type { Kysely } from "kysely";
import type { Database } from "../db";
import { TenantCache } from "../tenant-cache";
import { suppressionKeyOrUndefined } from "./address-key";
import { suppressedAmong } from "./suppressions";

const SNAPSHOT_TTL_MS = 2_000;
/** Lists longer than this are not held in memory. */
const SNAPSHOT_MAX_ENTRIES = 20_000;

export class SuppressionSnapshots {
  readonly #cache: TenantCache<Set<string> | null>;

  constructor(private readonly db: Kysely<Database>) {
    this.#cache = new TenantCache(SNAPSHOT_TTL_MS, async (tenantId) => {
      const rows = await db
        .selectFrom("suppressions")
        .select("email")
        .where("tenant_id", "=", tenantId)
        .limit(SNAPSHOT_MAX_ENTRIES + 1)
        .execute();
      return rows.length > SNAPSHOT_MAX_ENTRIES ? null : new Set(rows.map((r) => r.email));
    });
  }

  /** Which of `emails` (as given) are on the tenant's list, as of at most a few seconds ago. */
  async suppressedAmong(tenantId: string, emails: string[]): Promise<Set<string>> {
    const snapshot = await this.#cache.get(tenantId);
    if (snapshot === null) return suppressedAmong(this.db, tenantId, emails);
    const found = new Set<string>();
    if (snapshot.size === 0) return found;
    for (const email of emails) {
      const key = suppressionKeyOrUndefined(email);
      if (key !== undefined && snapshot.has(key)) found.add(email);
    }
    return found;
  }
}
