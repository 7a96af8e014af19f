// Every query on attachments, their stored bytes (attachment_blobs, one row per tenant and
// sha256) and the emails' links to them. Lookups are scoped by tenant: another tenant's
// attachment id finds nothing.
import type { Insertable, Kysely, Selectable } from "kysely";
import type { AttachmentsTable, Database, EmailAttachmentsTable, EmailStatus } from "../db";
import { selectTenantPage } from "../db";

export type AttachmentRow = Selectable<AttachmentsTable>;
type Executor = Kysely<Database>;

/** Emails in these states may still be sent, so what they reference must stay. */
export const WAITING_STATUSES: EmailStatus[] = ["scheduled", "queued", "sending"];
/** Rows per multi-row insert: well under either database's bound-parameter limit. */
const INSERT_CHUNK = 200;

/** Identical bytes are stored once per tenant: a second copy is simply not written. */
export async function insertBlob(
  trx: Executor,
  blob: { tenantId: string; sha256: string; bytes: Uint8Array; now: number },
): Promise<void> {
  await trx
    .insertInto("attachment_blobs")
    .values({
      tenant_id: blob.tenantId,
      sha256: blob.sha256,
      size: blob.bytes.byteLength,
      content: blob.bytes,
      created_at: blob.now,
    })
    .onConflict((oc) => oc.columns(["tenant_id", "sha256"]).doNothing())
    .execute();
}

export async function insertAttachments(trx: Executor, rows: Insertable<AttachmentsTable>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    await trx
      .insertInto("attachments")
      .values(rows.slice(i, i + INSERT_CHUNK))
      .execute();
  }
}

export async function insertEmailAttachmentLinks(
  trx: Executor,
  rows: Insertable<EmailAttachmentsTable>[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    await trx
      .insertInto("email_attachments")
      .values(rows.slice(i, i + INSERT_CHUNK))
      .execute();
  }
}

export async function selectAttachment(db: Executor, tenantId: string, id: string): Promise<AttachmentRow | undefined> {
  return db
    .selectFrom("attachments")
    .selectAll()
    .where("tenant_id", "=", tenantId)
    .where("id", "=", id)
    .executeTakeFirst();
}

export async function selectAttachmentsByIds(db: Executor, tenantId: string, ids: string[]): Promise<AttachmentRow[]> {
  const rows: AttachmentRow[] = [];
  for (let i = 0; i < ids.length; i += INSERT_CHUNK) {
    rows.push(
      ...(await db
        .selectFrom("attachments")
        .selectAll()
        .where("tenant_id", "=", tenantId)
        .where("id", "in", ids.slice(i, i + INSERT_CHUNK))
        .execute()),
    );
  }
  return rows;
}

/** Newest first; `limit + 1` rows so the caller knows whether a next page exists. */
export async function selectAttachmentPage(
  db: Executor,
  tenantId: string,
  afterId: string | undefined,
  limit: number,
): Promise<AttachmentRow[]> {
  return selectTenantPage(db, "attachments", tenantId, afterId, limit);
}

export async function selectContent(db: Executor, tenantId: string, sha256: string): Promise<Uint8Array | undefined> {
  const row = await db
    .selectFrom("attachment_blobs")
    .select("content")
    .where("tenant_id", "=", tenantId)
    .where("sha256", "=", sha256)
    .executeTakeFirst();
  return row?.content;
}

/** Whether an email that may still be sent references the attachment. */
export async function referencedByWaitingEmail(db: Executor, attachmentId: string): Promise<boolean> {
  const row = await db
    .selectFrom("email_attachments")
    .innerJoin("emails", "emails.id", "email_attachments.email_id")
    .select("emails.id")
    .where("email_attachments.attachment_id", "=", attachmentId)
    .where("emails.status", "in", WAITING_STATUSES)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Deletes attachments (their links to finished emails go with them) and then any bytes no attachment uses. */
export async function deleteAttachmentRows(trx: Executor, rows: Pick<AttachmentRow, "id" | "tenant_id" | "sha256">[]) {
  if (rows.length === 0) return;
  await trx
    .deleteFrom("attachments")
    .where(
      "id",
      "in",
      rows.map((r) => r.id),
    )
    .execute();
  for (const r of rows) {
    await trx
      .deleteFrom("attachment_blobs")
      .where("tenant_id", "=", r.tenant_id)
      .where("sha256", "=", r.sha256)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom("attachments")
              .select("attachments.id")
              .whereRef("attachments.tenant_id", "=", "attachment_blobs.tenant_id")
              .whereRef("attachments.sha256", "=", "attachment_blobs.sha256"),
          ),
        ),
      )
      .execute();
  }
}

/** Expired attachments that no email references (through the expiry index), at most `limit`. */
export async function selectExpiredUnreferenced(db: Executor, now: number, limit: number) {
  return db
    .selectFrom("attachments")
    .select(["id", "tenant_id", "sha256"])
    .where("expires_at", "<", now)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom("email_attachments")
            .select("email_attachments.email_id")
            .whereRef("email_attachments.attachment_id", "=", "attachments.id"),
        ),
      ),
    )
    .limit(limit)
    .execute();
}

/** An email's attachments with their bytes, in the order the email listed them. */
export async function selectEmailAttachments(db: Executor, emailId: string) {
  return db
    .selectFrom("email_attachments")
    .innerJoin("attachments", "attachments.id", "email_attachments.attachment_id")
    .innerJoin("attachment_blobs", (j) =>
      j
        .onRef("attachment_blobs.tenant_id", "=", "attachments.tenant_id")
        .onRef("attachment_blobs.sha256", "=", "attachments.sha256"),
    )
    .select([
      "attachments.filename",
      "attachments.content_type",
      "email_attachments.content_id",
      "attachment_blobs.content",
    ])
    .where("email_attachments.email_id", "=", emailId)
    .orderBy("email_attachments.position")
    .execute();
}
