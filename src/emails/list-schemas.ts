// The list of emails as documented: the same query as schemas.ts's EmailListQuery plus
// `include`, and a list item whose bodies are there only when asked for (a page of 200 emails
// of several MB each is too much to read and send by default).
import * as v from "valibot";
import { EmailListQuery, EmailSchema } from "./schemas";

const onlyWithContent = (what: string) =>
  v.optional(v.pipe(v.nullable(v.string()), v.description(`${what}; present only with \`include=content\`.`)));

export const EmailListWithContentQuery = v.object({
  ...EmailListQuery.entries,
  include: v.optional(
    v.pipe(
      v.picklist(["content"]),
      v.description("`content`: each email with its `text` and `html`. Without it a page is metadata only."),
    ),
  ),
});

export const EmailListItemSchema = v.pipe(
  v.object({
    ...EmailSchema.pipe[0].entries,
    text: onlyWithContent("The plain-text body"),
    html: onlyWithContent("The HTML body"),
  }),
  v.title("EmailListItem"),
  v.description(
    "An email as listed: without `text` and `html` unless `include=content`; `GET /v1/emails/{id}` has them.",
  ),
);
