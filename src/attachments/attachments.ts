// A tenant's attachments: files checked (size, type from the bytes, name) before anything is
// stored, kept in the database so every instance sees them, the bytes once per tenant however
// often they are uploaded. An upload no email references expires (POSTHORN_ATTACHMENT_TTL).
import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../db";
import { conflict, type FieldIssue, notFound, PosthornError } from "../errors";
import { newId } from "../ids";
import { decodeCursor, type Page, type PageRequest, pageSize, toPage } from "../pagination";
import { validationError } from "../validation";
import { fallbackFilename, sanitizeFilename } from "./filename";
import type { Attachment } from "./schemas";
import { refusalByHead, refusalByName, SNIFF_HEAD_BYTES, sniffAttachment } from "./sniff";
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
import {
  FREE_BYTES,
  growableBuffer,
  SLOT_MIN_BYTES_PER_SECOND,
  type UploadBuffers,
  type UploadSlot,
} from "./upload-buffers";

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

const tooLarge = (field: string, name: string, max: number, size?: number) =>
  new PosthornError(
    "payload_too_large",
    `${field} (${name}) is ${size === undefined ? "larger than the limit of" : `${size} bytes; the limit is`} ${max} bytes per file (POSTHORN_ATTACHMENT_MAX_BYTES).`,
    { issues: [{ field, message: `is larger than ${max} bytes, the most accepted` }] },
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
  if (bytes.byteLength > maxBytes) throw tooLarge(field, name || rawName, maxBytes, bytes.byteLength);
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

/** A file of an upload as it arrives: its name and its bytes, read once. */
export interface IncomingFile {
  name: string;
  chunks: AsyncIterable<Uint8Array>;
}

/** A file received whole and checked, and the slot whose buffer holds it until it is stored. */
type Received = { file: CheckedFile; release: () => void } | FieldIssue;

/**
 * Reads one file to its end, refusing it as early as its bytes allow: a program's name before
 * any byte, an executable on its first bytes (the rest is read and dropped, so every file's
 * problem is reported), 413 as soon as it passes the limit (the rest is never read). A file past
 * FREE_BYTES waits for a slot of `buffers` before more of it is kept.
 */
async function receiveFile(file: IncomingFile, field: string, maxBytes: number, buffers: UploadBuffers) {
  const name = sanitizeFilename(file.name);
  let refusal = refusalByName(name);
  // Grows in place (only the pages written take memory): a file is held once, never as its
  // chunks and then their copy. Past FREE_BYTES it moves to a slot's buffer.
  let buffer: ArrayBuffer | undefined = refusal ? undefined : growableBuffer(Math.min(maxBytes, FREE_BYTES));
  let slot: UploadSlot | undefined;
  let size = 0;
  try {
    for await (const chunk of file.chunks) {
      const at = size;
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge(field, name || file.name, maxBytes);
      if (!buffer) continue;
      if (slot?.tooSlow(size)) throw tooSlow(field, name || file.name);
      if (!slot && size > FREE_BYTES) {
        slot = await buffers.acquire();
        slot.buffer.resize(at);
        new Uint8Array(slot.buffer).set(new Uint8Array(buffer, 0, at));
        buffer = slot.buffer;
      }
      buffer.resize(size);
      new Uint8Array(buffer).set(chunk, at);
      if (at < SNIFF_HEAD_BYTES && size >= SNIFF_HEAD_BYTES) {
        refusal = await refusalByHead(new Uint8Array(buffer, 0, size));
        if (refusal) buffer = undefined;
      }
    }
    if (refusal) return { field, message: `${name || "the file"} ${refusal}` };
    if (size === 0 || !buffer) return { field, message: "is empty" };
    const bytes = new Uint8Array(buffer, 0, size);
    const sniffed = await sniffAttachment(bytes, name);
    if (!sniffed.ok) return { field, message: `${name || "the file"} ${sniffed.reason}` };
    const checked: CheckedFile = {
      filename: name || fallbackFilename(sniffed.contentType),
      contentType: sniffed.contentType,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      bytes,
    };
    const held = slot ? slot.release : () => {};
    slot = undefined;
    return { file: checked, release: held };
  } finally {
    slot?.release();
  }
}

const tooSlow = (field: string, name: string) =>
  new PosthornError(
    "bad_request",
    `${field} (${name}) came too slowly (under ${SLOT_MIN_BYTES_PER_SECOND / 1024} KB/s) while it held one of the ` +
      "buffers large uploads wait for; send it faster, or retry.",
    { issues: [{ field, message: "came too slowly" }] },
  );

const tooManyFiles = (max: number, got: string) =>
  new PosthornError(
    "validation_failed",
    `At most ${max} files per request (POSTHORN_ATTACHMENT_MAX_FILES); got ${got}.`,
    {
      issues: [{ field: "files", message: `at most ${max} files per request` }],
    },
  );

/**
 * Receives the files one after the other as they arrive and stores each as soon as it passed
 * its checks, so at most one file of the request is in memory. All or nothing still: when a
 * file is refused, those already stored are deleted again before the answer (a crash between
 * the two leaves them to expire like any unreferenced upload).
 */
export async function uploadAttachments(
  db: Db,
  limits: AttachmentLimits,
  buffers: UploadBuffers,
  tenantId: string,
  files: AsyncIterable<IncomingFile>,
): Promise<Attachment[]> {
  const stored: AttachmentRow[] = [];
  const issues: FieldIssue[] = [];
  let count = 0;
  try {
    for await (const incoming of files) {
      if (count === limits.maxFiles) throw tooManyFiles(limits.maxFiles, "more");
      const field = `files[${count++}]`;
      const received: Received = await receiveFile(incoming, field, limits.maxBytes, buffers);
      if ("message" in received) {
        issues.push(received);
        continue;
      }
      try {
        // Nothing more is stored once a file was refused; the rest is only checked.
        if (issues.length === 0) stored.push(await storeFile(db, limits, tenantId, received.file));
      } finally {
        received.release();
      }
    }
    if (count === 0) {
      throw new PosthornError("validation_failed", "Send one or more files as multipart/form-data fields.", {
        issues: [{ field: "files", message: "no file in the request" }],
      });
    }
    if (issues.length > 0) throw validationError(issues);
    return stored.map(toAttachment);
  } catch (err) {
    if (stored.length > 0) await db.transaction().execute((trx) => deleteAttachmentRows(trx, stored));
    throw err;
  }
}

/** One file's bytes (once per tenant) and its attachment row, in one transaction. */
async function storeFile(db: Db, limits: AttachmentLimits, tenantId: string, f: CheckedFile): Promise<AttachmentRow> {
  const now = Date.now();
  const row: AttachmentRow = {
    id: newId("att", now),
    tenant_id: tenantId,
    sha256: f.sha256,
    filename: f.filename,
    content_type: f.contentType,
    size: f.bytes.byteLength,
    created_at: now,
    expires_at: now + limits.ttlMs,
  };
  await db.transaction().execute(async (trx) => {
    await insertBlob(trx, { tenantId, sha256: f.sha256, bytes: f.bytes, now });
    await insertAttachments(trx, [row]);
  });
  return row;
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
