// The list of emails as documented: its filters, and a list item whose bodies are there only
// when asked for (a page of 200 emails of several MB each is too much to read and send by default).
import * as v from "valibot";
import { named } from "../validation";
import { EmailSchema, EmailStatusSchema } from "./schemas";

const onlyWithContent = (what: string) =>
  v.optional(v.pipe(v.nullable(v.string()), v.description(`${what}; present only with \`include=content\`.`)));

/** The filters of `GET /v1/emails`; the router adds the page's `limit` and `cursor`, shared by every list. */
export const EmailListFilters = v.object({
  status: v.optional(EmailStatusSchema),
  tag: v.optional(v.pipe(v.string(), v.maxLength(100), v.description("Only emails with this tag."))),
  since: v.optional(
    v.pipe(
      v.string(),
      v.isoTimestamp("must be an RFC 3339 timestamp"),
      v.description("Only emails accepted at or after this time (RFC 3339)."),
    ),
  ),
  include: v.optional(
    v.pipe(
      v.picklist(["content"]),
      v.description("`content`: each email with its `text` and `html`. Without it a page is metadata only."),
    ),
  ),
});

export const EmailListItemSchema = named(
  "EmailListItem",
  v.pipe(
    v.object({
      ...v.omit(EmailSchema.pipe[0], ["attempts"]).entries,
      text: onlyWithContent("The plain-text body"),
      html: onlyWithContent("The HTML body"),
    }),
    v.description(
      "An email as listed: without `text` and `html` unless `include=content`, and without `attempts`; " +
        "`GET /v1/emails/{id}` has them.",
    ),
  ),
);
