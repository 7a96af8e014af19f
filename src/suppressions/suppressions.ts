// A tenant's suppression list: addresses mail is never attempted to. The dispatcher adds an
// address when a server says it does not exist (5.1.x) or bounces it for good; the tenant adds
// and removes addresses through the API. The queue asks `suppressedAmong` before sending.
import { type Kysely, type Selectable, sql } from "kysely";
import type { Database, SuppressionReason, SuppressionsTable } from "../db";
import { perDatabase, reusableForList } from "../db";
import { notFound } from "../errors";
import { type Page, type PageRequest, pageSize } from "../pagination";
import { suppressionKey, suppressionKeyOrUndefined } from "./address-key";
import { decodeSuppressionCursor, encodeSuppressionCursor } from "./cursor";
import { SUPPRESSION_DETAIL_MAX, type Suppression } from "./schemas";

export type { SuppressionReason };

/** Addresses per `IN (…)` list: far below SQLite's 32766 bound parameters, and one query for any one email. */
/** Addresses per lookup query: bounds the number of compiled shapes (one per list length). */
const LOOKUP_CHUNK = 100;

/** Runs for every accepted and every sent email, so it is compiled once (src/db/reusable-query.ts). */
const lookupSuppressed = perDatabase((db: Kysely<Database>) =>
  reusableForList(["tenantId"], (p: { tenantId: string }, items: string[]) =>
    db.selectFrom("suppressions").select("email").where("tenant_id", "=", p.tenantId).where("email", "in", items),
  ),
);
/** An insert that loses a race with a concurrent delete is retried this many times. */
const UPSERT_ATTEMPTS = 3;

export interface AddSuppressionInput {
  email: string;
  reason: SuppressionReason;
  /** Why, in words: the SMTP server's reply for a bounce, a note for a manual entry. */
  detail?: string | null;
  /** The email whose sending put the address on the list. */
  sourceEmailId?: string | null;
}

export interface ListSuppressionsRequest extends PageRequest {
  reason?: SuppressionReason;
  /** Start of the address (a prefix, matched case-insensitively). */
  q?: string;
}

type Row = Selectable<SuppressionsTable>;

const toSuppression = (r: Row): Suppression => ({
  object: "suppression",
  email: r.email,
  reason: r.reason,
  detail: r.detail,
  source_email_id: r.source_email_id,
  created_at: new Date(r.created_at).toISOString(),
});

/**
 * Puts an address on the tenant's list. Adding one that is already there is not an error: the
 * entry keeps its `created_at` (when it was first suppressed) and takes the new reason, detail
 * and source, which describe the latest event. `created` says which of the two happened.
 */
export async function addSuppression(
  db: Kysely<Database>,
  tenantId: string,
  input: AddSuppressionInput,
  now = Date.now(),
): Promise<{ suppression: Suppression; created: boolean }> {
  const email = suppressionKey(input.email);
  const detail = input.detail?.slice(0, SUPPRESSION_DETAIL_MAX) ?? null;
  const sourceEmailId = input.sourceEmailId ?? null;
  for (let attempt = 1; ; attempt++) {
    const inserted = await db
      .insertInto("suppressions")
      .values({
        tenant_id: tenantId,
        email,
        reason: input.reason,
        detail,
        source_email_id: sourceEmailId,
        created_at: now,
      })
      .onConflict((oc) => oc.columns(["tenant_id", "email"]).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) return { suppression: toSuppression(inserted), created: true };

    const updated = await db
      .updateTable("suppressions")
      .set({ reason: input.reason, detail, source_email_id: sourceEmailId })
      .where("tenant_id", "=", tenantId)
      .where("email", "=", email)
      .returningAll()
      .executeTakeFirst();
    if (updated) return { suppression: toSuppression(updated), created: false };
    // Deleted between the two statements: try the insert again.
    if (attempt >= UPSERT_ATTEMPTS) throw new Error(`suppression of ${email} kept vanishing while being added`);
  }
}

export async function getSuppression(db: Kysely<Database>, tenantId: string, email: string): Promise<Suppression> {
  const row = await db
    .selectFrom("suppressions")
    .selectAll()
    .where("tenant_id", "=", tenantId)
    .where("email", "=", suppressionKey(email))
    .executeTakeFirst();
  if (!row) throw notFound("suppression");
  return toSuppression(row);
}

/** Takes an address off the list, so mail to it is attempted again; 404 when it is not on it. */
export async function removeSuppression(db: Kysely<Database>, tenantId: string, email: string): Promise<void> {
  const result = await db
    .deleteFrom("suppressions")
    .where("tenant_id", "=", tenantId)
    .where("email", "=", suppressionKey(email))
    .executeTakeFirst();
  if (result.numDeletedRows === 0n) throw notFound("suppression");
}

/** Newest first, by (created_at, email): the table has no id, and addresses break ties. */
export async function listSuppressions(
  db: Kysely<Database>,
  tenantId: string,
  request: ListSuppressionsRequest = {},
): Promise<Page<Suppression>> {
  const limit = pageSize(request.limit);
  const after = decodeSuppressionCursor(request.cursor);
  let q = db
    .selectFrom("suppressions")
    .selectAll()
    .where("tenant_id", "=", tenantId)
    .orderBy("created_at", "desc")
    .orderBy("email", "desc")
    .limit(limit + 1);
  if (after) {
    q = q.where((eb) =>
      eb.or([
        eb("created_at", "<", after.createdAt),
        eb.and([eb("created_at", "=", after.createdAt), eb("email", "<", after.email)]),
      ]),
    );
  }
  if (request.reason) q = q.where("reason", "=", request.reason);
  const prefix = request.q?.trim().toLowerCase();
  if (prefix) q = q.where(sql<boolean>`${sql.ref("email")} like ${`${escapeLike(prefix)}%`} escape '\\'`);

  const rows = await q.execute();
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept[kept.length - 1];
  return {
    data: kept.map(toSuppression),
    next_cursor: more && last ? encodeSuppressionCursor({ createdAt: last.created_at, email: last.email }) : null,
  };
}

/**
 * Which of `emails` are on the tenant's list, as given (not as normalised), so a caller can ask
 * `result.has(recipient)` of the very strings it passed. Strings that are not addresses are
 * never suppressed.
 */
export async function suppressedAmong(db: Kysely<Database>, tenantId: string, emails: string[]): Promise<Set<string>> {
  const byKey = new Map<string, string[]>();
  for (const email of emails) {
    const key = suppressionKeyOrUndefined(email);
    if (key === undefined) continue;
    const same = byKey.get(key);
    if (same) same.push(email);
    else byKey.set(key, [email]);
  }
  const found = new Set<string>();
  const keys = [...byKey.keys()];
  for (let i = 0; i < keys.length; i += LOOKUP_CHUNK) {
    const { rows } = await db.executeQuery(lookupSuppressed(db)({ tenantId }, keys.slice(i, i + LOOKUP_CHUNK)));
    for (const row of rows) for (const given of byKey.get(row.email) ?? []) found.add(given);
  }
  return found;
}

/** LIKE treats `%` and `_` as wildcards; a search for `a_b@` means those characters (SQLite has no default escape). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Adds the addresses a server said do not exist, in the transaction that keeps the send's
 * outcome: reason `unknown_user`, the server's words as detail; an address already listed keeps
 * its entry.
 */
export function suppressUnknownRecipients(
  trx: Kysely<Database>,
  source: { tenantId: string; emailId: string; now: number },
  recipients: readonly { email: string; detail: string }[],
): Promise<unknown> {
  return trx
    .insertInto("suppressions")
    .values(
      recipients.map((r) => ({
        tenant_id: source.tenantId,
        email: suppressionKeyOrUndefined(r.email) ?? r.email.toLowerCase(),
        reason: "unknown_user" as const,
        detail: r.detail.slice(0, SUPPRESSION_DETAIL_MAX),
        source_email_id: source.emailId,
        created_at: source.now,
      })),
    )
    .onConflict((oc) => oc.columns(["tenant_id", "email"]).doNothing())
    .execute();
}
