// A suppression as the API shows it: declared once here, the type inferred from it.
import * as v from "valibot";

export const SUPPRESSION_REASONS = ["unknown_user", "hard_bounce", "unsubscribe", "manual"] as const;

export const SuppressionReasonSchema = v.pipe(
  v.picklist(SUPPRESSION_REASONS, `must be one of ${SUPPRESSION_REASONS.join(", ")}`),
  v.description(
    "`unknown_user`: the server said the mailbox does not exist (5.1.x); `hard_bounce`: another " +
      "permanent refusal; `unsubscribe`: the recipient asked; `manual`: added by you.",
  ),
);

export const SuppressionSchema = v.pipe(
  v.object({
    object: v.literal("suppression"),
    email: v.pipe(v.string(), v.description("The address, lower-cased; an IDN domain in its ASCII form.")),
    reason: SuppressionReasonSchema,
    detail: v.nullable(v.pipe(v.string(), v.description("Why, in words: the server's reply, or your note."))),
    source_email_id: v.nullable(v.pipe(v.string(), v.description("The email whose sending put it here."))),
    created_at: v.pipe(v.string(), v.isoTimestamp(), v.description("When the address was first suppressed.")),
  }),
  v.title("Suppression"),
);

export type Suppression = v.InferOutput<typeof SuppressionSchema>;
