// What `POST /v1/emails/batch` accepts: up to POSTHORN_BATCH_MAX_EMAILS emails, each a send
// request of its own, or shared `defaults` (content, template, sender…) with per-email
// recipients and variables. The same schemas validate and document it.
import type { StandardSchemaV1 } from "@standard-schema/spec";
import * as v from "valibot";
import { contentChoiceProblems, SendEmailFields, type SendEmailRequest, SendEmailSchema } from "../emails";
import type { FieldIssue } from "../errors";
import { named, toFieldIssues } from "../validation";

/** One email of a batch, and the batch's `defaults`: any field of a single send. */
const BatchEmail = named(
  "BatchEmail",
  v.pipe(
    v.partial(SendEmailFields),
    v.description(
      "Any field of a single send. An email together with the batch's `defaults` must make a complete send request.",
    ),
  ),
);

const BatchRequest = v.pipe(
  v.object({
    // Described on the request: the document keeps no description beside a $ref.
    defaults: v.optional(BatchEmail),
    emails: v.pipe(
      v.array(BatchEmail),
      v.minLength(1, "needs at least one email"),
      v.description("The emails, each with what it does not take from `defaults` (at least its recipients)."),
    ),
  }),
  // Also for a request whose other fields are wrong, so one answer names every failing email.
  v.rawCheck(({ dataset, addIssue }) => {
    const batch = dataset.value as { defaults?: Record<string, unknown>; emails?: unknown };
    if (!Array.isArray(batch?.emails)) return;
    const emails = batch.emails;
    emails.forEach((email, i) => {
      if (typeof email !== "object" || email === null) return;
      const merged = { ...batch.defaults, ...email } as Record<string, unknown>;
      const problems = contentChoiceProblems(merged);
      if (merged.to === undefined) problems.unshift({ key: "to" as never, message: "needs at least one recipient" });
      for (const { key, message } of problems) {
        addIssue({
          message,
          path: [
            { type: "object", origin: "value", input: batch as Record<string, unknown>, key: "emails", value: emails },
            { type: "array", origin: "value", input: emails, key: i, value: email },
            { type: "object", origin: "value", input: email as Record<string, unknown>, key, value: merged[key] },
          ],
        });
      }
    });
  }),
  v.description(
    "`defaults`: fields every email has unless it gives its own; `variables`, `metadata` and `headers` are merged " +
      "key by key (the email's keys win).",
  ),
);

export const SendBatchSchema = named("SendBatchRequest", BatchRequest, {
  defaults: { from: "Acme <news@example.com>", template_id: "tpl_01m8vv5rm0w0zmws1e8p6khwxt", tags: ["december-news"] },
  emails: [
    { to: ["ada@example.org"], variables: { name: "Ada" } },
    { to: ["grace@example.org"], variables: { name: "Grace" } },
  ],
});

export type SendBatchRequest = v.InferOutput<typeof SendBatchSchema>;
type PartialEmail = v.InferOutput<typeof BatchEmail>;

/** Keyed fields that are merged rather than replaced. */
const MERGED = ["variables", "metadata", "headers"] as const;

function merged(defaults: PartialEmail | undefined, email: PartialEmail): Record<string, unknown> {
  if (!defaults) return email;
  const out: Record<string, unknown> = { ...defaults, ...email };
  for (const key of MERGED) {
    if (defaults[key] && email[key]) out[key] = { ...defaults[key], ...email[key] };
  }
  return out;
}

/** An issue of the batch's i-th email, named from the request's root: `emails[3].to[0]`. */
export const inBatch = (i: number, issue: FieldIssue): FieldIssue => ({
  ...issue,
  field: issue.field === "body" ? `emails[${i}]` : `emails[${i}].${issue.field}`,
});

/**
 * Each email with the defaults applied, parsed as a complete send request; every problem of
 * every email is reported at once, as `emails[3].to[0]`.
 */
export function completeBatchEmails(
  body: SendBatchRequest,
): { ok: true; emails: SendEmailRequest[] } | { ok: false; issues: FieldIssue[] } {
  const emails: SendEmailRequest[] = [];
  const issues: FieldIssue[] = [];
  body.emails.forEach((email, i) => {
    const result = v.safeParse(SendEmailSchema, merged(body.defaults, email));
    if (result.success) emails.push(result.output);
    else
      for (const issue of toFieldIssues(result.issues as unknown as StandardSchemaV1.Issue[]))
        issues.push(inBatch(i, issue));
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, emails };
}
