// A batch as the API shows it (and as accepted): declared once here, the types inferred from them.
import * as v from "valibot";
import { AcceptedEmailSchema } from "../emails";

const Timestamp = v.pipe(v.string(), v.isoTimestamp());
export const BatchStatusSchema = v.pipe(
  v.picklist(["active", "paused", "cancelled", "completed"]),
  v.description("`completed`: active, and none of its emails is waiting or being sent any more."),
);

export const AcceptedBatchSchema = v.pipe(
  v.object({
    id: v.pipe(v.string(), v.examples(["bat_01jd8y2v3k4m5n6p7q8r9s0t1u"])),
    object: v.literal("batch"),
    status: v.literal("active"),
    email_count: v.number(),
    created_at: Timestamp,
    emails: v.pipe(v.array(AcceptedEmailSchema), v.description("One per email, in the order of the request.")),
  }),
  v.title("AcceptedBatch"),
);

const count = (what: string) => v.pipe(v.number(), v.description(what));
export const BatchSchema = v.pipe(
  v.object({
    id: v.string(),
    object: v.literal("batch"),
    status: BatchStatusSchema,
    email_count: v.number(),
    counts: v.pipe(
      v.object({
        scheduled: count("Waiting for their time."),
        queued: count("Due, or waiting for a limit or a retry."),
        paused: count("Held because the batch is paused."),
        sending: count("Being handed to SMTP now."),
        sent: count("Sent (to at least one recipient)."),
        failed: count("Failed for good."),
        cancelled: count("Cancelled."),
        suppressed: count("Not sent: every recipient is suppressed."),
      }),
      v.description("Emails of the batch per status."),
    ),
    created_at: Timestamp,
    updated_at: Timestamp,
  }),
  v.title("Batch"),
);

export type Batch = v.InferOutput<typeof BatchSchema>;
export type BatchCounts = Batch["counts"];
