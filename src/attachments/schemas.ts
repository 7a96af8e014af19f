// An attachment as the API shows it: declared once here, the type inferred from it.
import * as v from "valibot";

const Timestamp = v.pipe(v.string(), v.isoTimestamp());

export const AttachmentSchema = v.pipe(
  v.object({
    id: v.pipe(v.string(), v.examples(["att_01jd8y2v3k4m5n6p7q8r9s0t1u"])),
    object: v.literal("attachment"),
    filename: v.pipe(v.string(), v.description("The name, cleaned: no folders, no control or invisible characters.")),
    content_type: v.pipe(v.string(), v.description("Detected from the bytes, not from the name.")),
    size: v.pipe(v.number(), v.description("Bytes.")),
    sha256: v.pipe(v.string(), v.description("Hex digest; identical files are stored once.")),
    created_at: Timestamp,
    expires_at: v.pipe(Timestamp, v.description("Deleted after this unless an email references it.")),
  }),
  v.title("Attachment"),
);

export type Attachment = v.InferOutput<typeof AttachmentSchema>;
