// Attachments as part of an email: the request fields, their checks at acceptance (uploaded ids
// must be the tenant's own; inline base64 files get the same checks as uploads), the links
// written with the email, and the files read back when the email is sent.
import type { Kysely } from "kysely";
import * as v from "valibot";
import type { Database } from "../db";
import type { FieldIssue } from "../errors";
import { newId } from "../ids";
import { named, validationError } from "../validation";
import { type CheckedFile, checkFile } from "./attachments";
import {
  type AttachmentRow,
  insertAttachments,
  insertBlob,
  insertEmailAttachmentLinks,
  selectAttachmentsByIds,
  selectEmailAttachments,
} from "./store";

const MAX_LISTED = 100;

const ContentIdField = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.@]{1,250}$/, "must be 1–250 characters without spaces or <>"),
  v.description("Makes the file an inline part usable as `cid:<content_id>` in the html, e.g. `logo`."),
);

const AttachmentItemFields = v.pipe(
  v.object({
    attachment_id: v.optional(v.pipe(v.string(), v.maxLength(64), v.description("An uploaded attachment's id."))),
    filename: v.optional(v.pipe(v.string(), v.maxLength(1000), v.description("The file's name (inline files)."))),
    content: v.optional(
      v.pipe(v.string(), v.base64("must be base64"), v.description("The file's bytes, base64 (inline files).")),
    ),
    content_type: v.optional(
      v.pipe(
        v.string(),
        v.maxLength(255),
        v.description("Informative only: the type is always detected from the bytes."),
      ),
    ),
    content_id: v.optional(ContentIdField),
  }),
  v.check(
    (a) => (a.attachment_id !== undefined) !== (a.content !== undefined && a.filename !== undefined),
    "give attachment_id, or filename and content",
  ),
  v.description("An uploaded file by `attachment_id`, or a small one inline (`filename` and base64 `content`)."),
);
const AttachmentItem = named("AttachmentInput", AttachmentItemFields);

/** Spread into the send request's fields. */
export const EmailAttachmentFields = {
  attachment_ids: v.optional(
    v.pipe(
      v.array(v.pipe(v.string(), v.maxLength(64))),
      v.maxLength(MAX_LISTED),
      v.description("Ids of files uploaded with `POST /v1/attachments`."),
    ),
  ),
  attachments: v.optional(
    v.pipe(
      v.array(AttachmentItem),
      v.maxLength(MAX_LISTED),
      v.description(
        "Files to attach: small ones inline as base64 (`filename`, `content`), or uploaded ones by `attachment_id`; " +
          "either with a `content_id` to show it inline in the html. Checked like uploads.",
      ),
    ),
  ),
};

type AttachmentRequest = {
  attachment_ids?: string[];
  attachments?: v.InferOutput<typeof AttachmentItem>[];
};

/** One attachment of an accepted email: an existing row, or a checked inline file to store with it. */
export type EmailAttachmentRef =
  | { attachmentId: string; contentId: string | null }
  | { file: CheckedFile; contentId: string | null };

/**
 * Looks up uploaded attachments of one tenant, remembering what it found: a batch asks for all its
 * ids once, and each email then finds its own without another query.
 */
export function attachmentFinder(db: Kysely<Database>, tenantId: string) {
  const known = new Map<string, AttachmentRow | null>();
  return async (ids: string[]): Promise<Map<string, AttachmentRow | null>> => {
    const missing = [...new Set(ids.filter((id) => !known.has(id)))];
    if (missing.length > 0) {
      for (const id of missing) known.set(id, null);
      for (const row of await selectAttachmentsByIds(db, tenantId, missing)) known.set(row.id, row);
    }
    return known;
  };
}

/**
 * Inline files already checked in this request, by base64 text and then name: a batch repeats its
 * defaults' attachments in every email, and the same string is hashed once, not once per email.
 */
export type CheckedInline = Map<string, Map<string, CheckedFile | FieldIssue>>;

/** The email's attachments, checked; throws one 422 naming every refused one. */
export async function prepareEmailAttachments(
  req: AttachmentRequest,
  opts: {
    find: ReturnType<typeof attachmentFinder>;
    maxBytes: number;
    maxFiles: number;
    checked?: CheckedInline;
  },
): Promise<EmailAttachmentRef[]> {
  const ids = req.attachment_ids ?? [];
  const items = req.attachments ?? [];
  if (ids.length === 0 && items.length === 0) return [];
  const issues: FieldIssue[] = [];
  if (ids.length + items.length > opts.maxFiles) {
    issues.push({ field: "attachments", message: `at most ${opts.maxFiles} attachments per email` });
  }
  const referenced = [...ids, ...items.flatMap((a) => (a.attachment_id ? [a.attachment_id] : []))];
  const found = await opts.find(referenced);
  const refs: EmailAttachmentRef[] = [];
  ids.forEach((id, i) => {
    if (found.get(id)) refs.push({ attachmentId: id, contentId: null });
    else issues.push({ field: `attachment_ids[${i}]`, message: "no such attachment" });
  });
  for (const [i, a] of items.entries()) {
    const contentId = a.content_id ?? null;
    if (a.attachment_id !== undefined) {
      if (found.get(a.attachment_id)) refs.push({ attachmentId: a.attachment_id, contentId });
      else issues.push({ field: `attachments[${i}].attachment_id`, message: "no such attachment" });
      continue;
    }
    const content = a.content as string;
    const filename = a.filename as string;
    let byName = opts.checked?.get(content);
    let file = byName?.get(filename);
    if (!file) {
      file = await checkFile(Buffer.from(content, "base64"), filename, `attachments[${i}]`, opts.maxBytes);
      if (opts.checked) {
        byName ??= new Map();
        byName.set(filename, file);
        opts.checked.set(content, byName);
      }
    }
    if ("message" in file) issues.push({ ...file, field: `attachments[${i}]` });
    else refs.push({ file, contentId });
  }
  if (issues.length > 0) throw validationError(issues);
  return refs;
}

/**
 * Writes the links of accepted emails (inside their write unit). Inline files become attachment
 * rows; identical ones in one request share a row, and bytes are stored once per tenant.
 */
export async function linkEmailAttachments(
  trx: Kysely<Database>,
  tenantId: string,
  emails: { emailId: string; refs: EmailAttachmentRef[] }[],
  now: number,
  ttlMs: number,
): Promise<void> {
  const inlineIds = new Map<string, string>();
  const newRows: Parameters<typeof insertAttachments>[1] = [];
  const links: Parameters<typeof insertEmailAttachmentLinks>[1] = [];
  for (const { emailId, refs } of emails) {
    for (const [position, ref] of refs.entries()) {
      let attachmentId: string;
      if ("attachmentId" in ref) {
        attachmentId = ref.attachmentId;
      } else {
        const f = ref.file;
        const key = `${f.sha256}\n${f.filename}\n${f.contentType}`;
        attachmentId = inlineIds.get(key) ?? newId("att", now);
        if (!inlineIds.has(key)) {
          inlineIds.set(key, attachmentId);
          await insertBlob(trx, { tenantId, sha256: f.sha256, bytes: f.bytes, now });
          newRows.push({
            id: attachmentId,
            tenant_id: tenantId,
            sha256: f.sha256,
            filename: f.filename,
            content_type: f.contentType,
            size: f.bytes.byteLength,
            created_at: now,
            expires_at: now + ttlMs,
          });
        }
      }
      links.push({
        email_id: emailId,
        position,
        tenant_id: tenantId,
        attachment_id: attachmentId,
        content_id: ref.contentId,
      });
    }
  }
  await insertAttachments(trx, newRows);
  await insertEmailAttachmentLinks(trx, links);
}

export interface OutgoingAttachment {
  filename: string;
  contentType: string;
  contentId: string | null;
  content: Buffer;
}

/** The files of an email, in its order, for the message being sent. */
export async function loadEmailAttachments(db: Kysely<Database>, emailId: string): Promise<OutgoingAttachment[]> {
  const rows = await selectEmailAttachments(db, emailId);
  return rows.map((r) => ({
    filename: r.filename,
    contentType: r.content_type,
    contentId: r.content_id,
    content: Buffer.from(r.content),
  }));
}
