// Reading a tenant's emails: one with its attempt timeline, or a filtered page.
import type { Kysely } from "kysely";
import type { Database, EmailStatus } from "../db";
import { notFound, validationFailed } from "../errors";
import { decodeCursor, type Page, pageSize, toPage } from "../pagination";
import { listEmailFeedback } from "./feedback";
import { EMAIL_METADATA_COLUMNS, type EmailResource, toEmailResource } from "./resource";

/** With `sentWithKey`, only an email accepted with that API key (a `sending` key sees only its own). */
export async function getEmail(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
  sentWithKey?: string,
): Promise<EmailResource> {
  const row = await db
    .selectFrom("emails")
    .selectAll()
    .where("id", "=", id)
    .where("tenant_id", "=", tenantId)
    .$if(sentWithKey !== undefined, (qb) => qb.where("api_key_id", "=", sentWithKey!))
    .executeTakeFirst();
  if (!row) throw notFound("email");
  const attempts = await db
    .selectFrom("email_attempts")
    .selectAll()
    .where("email_id", "=", id)
    .orderBy("attempt")
    .execute();
  return toEmailResource(row, attempts, await listEmailFeedback(db, tenantId, id));
}

export interface EmailFilter {
  status?: EmailStatus;
  tag?: string;
  /** RFC 3339: only emails accepted at or after this time. */
  since?: string;
  limit?: number;
  cursor?: string;
  /** `content`: each email with its `text` and `html`; without it a page is metadata only. */
  include?: "content";
  /** Only emails accepted with this API key (what a `sending` key may see). */
  sentWithKey?: string;
}

export async function listEmails(db: Kysely<Database>, tenantId: string, f: EmailFilter): Promise<Page<EmailResource>> {
  const limit = pageSize(f.limit);
  const after = decodeCursor(f.cursor);
  let q = db
    .selectFrom("emails")
    // Bodies only when asked: a page of 200 emails of a few MB each would otherwise be read,
    // parsed and serialised whole (8 emails of 8 MB listed grew RSS by 234 MB).
    .select(EMAIL_METADATA_COLUMNS.map((c) => `emails.${c}` as const))
    .$if(f.include === "content", (qb) => qb.select(["emails.text_body", "emails.html_body"]))
    .where("emails.tenant_id", "=", tenantId);
  if (f.sentWithKey !== undefined) q = q.where("emails.api_key_id", "=", f.sentWithKey);
  if (f.status) q = q.where("emails.status", "=", f.status);
  if (f.since) {
    const since = Date.parse(f.since);
    if (Number.isNaN(since)) throw validationFailed("since", "must be an RFC 3339 timestamp");
    q = q.where("emails.created_at", ">=", since);
  }
  if (f.tag) {
    const tag = f.tag;
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom("email_tags")
          .select("email_tags.email_id")
          .whereRef("email_tags.email_id", "=", "emails.id")
          .where("email_tags.tenant_id", "=", tenantId)
          .where("email_tags.tag", "=", tag),
      ),
    );
  }
  if (after) q = q.where("emails.id", "<", after);
  const rows = await q
    .orderBy("emails.id", "desc")
    .limit(limit + 1)
    .execute();
  return toPage(rows, limit, (r) => toEmailResource(r));
}
