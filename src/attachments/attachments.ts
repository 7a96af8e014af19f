// A tenant's attachments: files checked (size, type from the bytes, name) before anything is
// stored, kept in the database so every instance sees them, the bytes once per tenant however
// often they are uploaded. An upload no email references expires (POSTHORN_ATTACHMENT_TTL).
import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema";
import { conflict, type FieldIssue, notFound, PosthornError } from "../errors";
import { newId } from "../ids";
import { decodeCursor, type Page, type PageRequest, pageSize, toPage } from "../pagination";
import { validationError } from "../validation";
import { fallbackFilename, sanitizeFilename } from "./filename";
import { sniffAttachment } from "./sniff";
import {
  type AttachmentRow,
  deleteAttachmentRows,
  insertAttachments,
  insertBlob,
  referencedByWaitingEmail,
  selectAttachment,
  selectAttachmentPage,
  selectContent,
} from "./store";

export interface Attachment {
  id: string;
  object: "attachment";
  filename: string;
  content_type: string;
  size: number;
  sha256: string;
  created_at: string;
  /** After this it is deleted, unless an email references it. */
  expires_at: string;
}

export interface AttachmentLimits {
  maxBytes: number;
  maxFiles: number;
  ttlMs: number;
}

/** A file that passed every check, ready to store. */
export interface CheckedFile {
  filename: string;
  contentType: string;
  sha256: string;
  bytes: Uint8Array;
}

type Db = Kysely<Database>;

export const toAttachment = (r: AttachmentRow): Attachment => ({
  id: r.id,
  object: "attachment",
  filename: r.filename,
  content_type: r.content_type,
  size: r.size,
  sha256: r.sha256,
  created_at: new Date(r.created_at).toISOString(),
  expires_at: new Date(r.expires_at).toISOString(),
});

const tooLarge = (field: string, name: string, size: number, max: number) =>
  new PosthornError(
    "payload_too_large",
    `${field} (${name}) is ${size} bytes; the limit is ${max} bytes per file (POSTHORN_ATTACHMENT_MAX_BYTES).`,
    { issues: [{ field, message: `is ${size} bytes; at most ${max} are accepted` }] },
  );

/**
 * Checks one file: size (413 when over the limit), type from the bytes, executables refused,
 * name cleaned. Answers the checked file or the issue that refuses it.
 */
export async function checkFile(
  bytes: Uint8Array,
  rawName: string,
  field: string,
  maxBytes: number,
): Promise<CheckedFile | FieldIssue> {
  const name = sanitizeFilename(rawName);
  if (bytes.byteLength > maxBytes) throw tooLarge(field, name || rawName, bytes.byteLength, maxBytes);
  if (bytes.byteLength === 0) return { field, message: "is empty" };
  const sniffed = await sniffAttachment(bytes, name);
  if (!sniffed.ok) return { field, message: `${name || "the file"} ${sniffed.reason}` };
  return {
    filename: name || fallbackFilename(sniffed.contentType),
    contentType: sniffed.contentType,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    bytes,
  };
}

const isIssue = (x: CheckedFile | FieldIssue): x is FieldIssue => "message" in x;

/** Checks every file first (all or nothing), then stores them in one transaction. */
export async function uploadAttachments(
  db: Db,
  limits: AttachmentLimits,
  tenantId: string,
  files: { name: string; bytes: Uint8Array }[],
): Promise<Attachment[]> {
  if (files.length === 0) {
    throw new PosthornError("validation_failed", "Send one or more files as multipart/form-data fields.", {
      issues: [{ field: "files", message: "no file in the request" }],
    });
  }
  if (files.length > limits.maxFiles) {
    throw new PosthornError(
      "validation_failed",
      `At most ${limits.maxFiles} files per request (POSTHORN_ATTACHMENT_MAX_FILES); got ${files.length}.`,
      { issues: [{ field: "files", message: `at most ${limits.maxFiles} files per request` }] },
    );
  }
  const checked = await Promise.all(files.map((f, i) => checkFile(f.bytes, f.name, `files[${i}]`, limits.maxBytes)));
  const issues = checked.filter(isIssue);
  if (issues.length > 0) throw validationError(issues);

  const now = Date.now();
  const rows = (checked as CheckedFile[]).map((f) => ({
    id: newId("att", now),
    tenant_id: tenantId,
    sha256: f.sha256,
    filename: f.filename,
    content_type: f.contentType,
    size: f.bytes.byteLength,
    created_at: now,
    expires_at: now + limits.ttlMs,
  }));
  await db.transaction().execute(async (trx) => {
    for (const f of checked as CheckedFile[])
      await insertBlob(trx, { tenantId, sha256: f.sha256, bytes: f.bytes, now });
    await insertAttachments(trx, rows);
  });
  return rows.map(toAttachment);
}

export async function getAttachment(db: Db, tenantId: string, id: string): Promise<Attachment> {
  const row = await selectAttachment(db, tenantId, id);
  if (!row) throw notFound("attachment");
  return toAttachment(row);
}

export async function getAttachmentContent(
  db: Db,
  tenantId: string,
  id: string,
): Promise<{ attachment: Attachment; bytes: Uint8Array }> {
  const row = await selectAttachment(db, tenantId, id);
  const bytes = row && (await selectContent(db, tenantId, row.sha256));
  if (!row || !bytes) throw notFound("attachment");
  return { attachment: toAttachment(row), bytes };
}

export async function listAttachments(db: Db, tenantId: string, page: PageRequest = {}): Promise<Page<Attachment>> {
  const limit = pageSize(page.limit);
  const rows = await selectAttachmentPage(db, tenantId, decodeCursor(page.cursor), limit);
  return toPage(rows, limit, toAttachment);
}

/** 409 while an email that may still be sent references it; finished emails lose the file. */
export async function deleteAttachment(db: Db, tenantId: string, id: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const row = await selectAttachment(trx, tenantId, id);
    if (!row) throw notFound("attachment");
    if (await referencedByWaitingEmail(trx, id)) {
      throw conflict(
        "An email that is still to be sent uses this attachment; cancel it first, or wait until it is sent.",
      );
    }
    await deleteAttachmentRows(trx, [row]);
  });
}
