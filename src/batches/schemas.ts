// A batch as the API shows it (and as accepted): declared once here, the types inferred from them.
import * as v from "valibot";
import { AcceptedEmailSchema } from "../emails";
import { Integer, named, Timestamp } from "../validation";

const EXAMPLE_ID = "bat_01m8vv5rm0f1hrnw61xgfwxn02";

export const BatchStatusSchema = named(
  "BatchStatus",
  v.pipe(
    v.picklist(["active", "paused", "cancelled", "completed"]),
    v.description("`completed`: active, and none of its emails is waiting or being sent any more."),
  ),
);

export const AcceptedBatchSchema = named(
  "AcceptedBatch",
  v.object({
    id: v.string(),
    object: v.literal("batch"),
    status: v.literal("active"),
    email_count: Integer,
    created_at: Timestamp,
    emails: v.pipe(v.array(AcceptedEmailSchema), v.description("One per email, in the order of the request.")),
  }),
  {
    id: EXAMPLE_ID,
    object: "batch",
    status: "active",
    email_count: 2,
    created_at: "2026-12-02T17:00:00.000Z",
    emails: [
      {
        id: "em_01m8vv5rm08jhtrpssz9rva8mm",
        object: "email",
        status: "queued",
        created_at: "2026-12-02T17:00:00.000Z",
        scheduled_at: null,
      },
      {
        id: "em_01m8vv5rm0g17yqq9kchc3xgxx",
        object: "email",
        status: "queued",
        created_at: "2026-12-02T17:00:00.000Z",
        scheduled_at: null,
      },
    ],
  },
);

const count = (what: string) => v.pipe(Integer, v.description(what));
const BatchCountsSchema = named(
  "BatchCounts",
  v.pipe(
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
);

export const BatchSchema = named(
  "Batch",
  v.object({
    id: v.string(),
    object: v.literal("batch"),
    status: BatchStatusSchema,
    email_count: Integer,
    counts: BatchCountsSchema,
    created_at: Timestamp,
    updated_at: Timestamp,
  }),
  {
    id: EXAMPLE_ID,
    object: "batch",
    status: "active",
    email_count: 1000,
    counts: { scheduled: 0, queued: 412, paused: 0, sending: 8, sent: 575, failed: 3, cancelled: 0, suppressed: 2 },
    created_at: "2026-12-02T17:00:00.000Z",
    updated_at: "2026-12-02T17:00:00.000Z",
  },
);

export type Batch = v.InferOutput<typeof BatchSchema>;
export type BatchCounts = Batch["counts"];
