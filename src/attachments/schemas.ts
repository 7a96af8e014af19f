// An attachment as the API shows it: declared once here, the type inferred from it.
import * as v from "valibot";
import { Integer, named, Timestamp } from "../validation";

const AttachmentFields = v.object({
  id: v.string(),
  object: v.literal("attachment"),
  filename: v.pipe(v.string(), v.description("The name, cleaned: no folders, no control or invisible characters.")),
  content_type: v.pipe(v.string(), v.description("Detected from the bytes, not from the name.")),
  size: v.pipe(Integer, v.description("Bytes.")),
  sha256: v.pipe(v.string(), v.description("Hex digest; identical files are stored once.")),
  created_at: Timestamp,
  expires_at: v.pipe(Timestamp, v.description("Deleted after this unless an email references it.")),
});

const EXAMPLE: v.InferInput<typeof AttachmentFields> = {
  id: "att_01m8vv5rm0c9cpt63bhg2gtgcq",
  object: "attachment",
  filename: "invoice-A-1042.pdf",
  content_type: "application/pdf",
  size: 48213,
  sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
  created_at: "2026-12-02T17:00:00.000Z",
  expires_at: "2026-12-03T17:00:00.000Z",
};

export const AttachmentSchema = named("Attachment", AttachmentFields, EXAMPLE);

/** What an upload answers. */
export const UploadedAttachmentsSchema = named(
  "UploadedAttachments",
  v.object({
    data: v.pipe(v.array(AttachmentSchema), v.description("The stored files, in the order they were sent.")),
  }),
  { data: [EXAMPLE] },
);

export type Attachment = v.InferOutput<typeof AttachmentSchema>;
