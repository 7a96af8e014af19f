// A suppression as the API shows it, and the request that adds one: declared once here, the
// type inferred from them.
import * as v from "valibot";
import { addressProblem } from "../mail";
import { named, Timestamp } from "../validation";

export const SUPPRESSION_REASONS = ["unknown_user", "hard_bounce", "complaint", "unsubscribe", "manual"] as const;
export const SUPPRESSION_DETAIL_MAX = 1000;

export const SuppressionReasonSchema = named(
  "SuppressionReason",
  v.pipe(
    v.picklist(SUPPRESSION_REASONS, `must be one of ${SUPPRESSION_REASONS.join(", ")}`),
    v.description(
      "`unknown_user`: the server said the mailbox does not exist (5.1.x); `hard_bounce`: another " +
        "permanent refusal (also one reported later, by a DSN); `complaint`: the reader reported the mail as spam; `unsubscribe`: the recipient asked; `manual`: added by you.",
    ),
  ),
);

export const SuppressionSchema = named(
  "Suppression",
  v.object({
    object: v.literal("suppression"),
    email: v.pipe(v.string(), v.description("The address, lower-cased; an IDN domain in its ASCII form.")),
    reason: SuppressionReasonSchema,
    detail: v.pipe(v.nullable(v.string()), v.description("Why, in words: the server's reply, or your note.")),
    source_email_id: v.pipe(v.nullable(v.string()), v.description("The email whose sending put it here.")),
    created_at: v.pipe(Timestamp, v.description("When the address was first suppressed.")),
  }),
  {
    object: "suppression",
    email: "ada@example.org",
    reason: "unknown_user",
    detail: "550 5.1.1 <ada@example.org>: Recipient address rejected: User unknown",
    source_email_id: "em_01m8rf12e0m8bzw6vavkycv4kz",
    created_at: "2026-12-01T09:30:02.417Z",
  },
);

export const CreateSuppressionSchema = named(
  "CreateSuppressionRequest",
  v.object({
    email: v.pipe(
      v.string(),
      v.trim(),
      v.check((email) => addressProblem(email) === undefined, "must be an email address"),
      v.description("The address to stop mailing; any case, IDN domains allowed."),
    ),
    reason: v.optional(v.pipe(SuppressionReasonSchema, v.description("Default `manual`.")), "manual"),
    detail: v.optional(
      v.nullable(v.pipe(v.string(), v.maxLength(SUPPRESSION_DETAIL_MAX), v.description("A note: why."))),
    ),
  }),
  { email: "ada@example.org", reason: "manual", detail: "Asked by phone not to be mailed" },
);

export type Suppression = v.InferOutput<typeof SuppressionSchema>;
