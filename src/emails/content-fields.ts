// The send request's content fields beyond subject/text/html: a template with its variables,
// attachments and List-Unsubscribe. Spread into SendEmailSchema, which stays one schema that
// validates and documents a send (and every batch item).
import * as v from "valibot";
import { EmailAttachmentFields } from "../attachments";
import { StrictField, VariablesField, VersionField } from "../templates";
import { ListUnsubscribeField } from "../unsubscribe";

export const ContentFields = {
  template_id: v.optional(
    v.pipe(
      v.string(),
      v.maxLength(64),
      v.description("Render this template (instead of giving subject, text and html), with `variables`."),
    ),
  ),
  template_version: v.optional(VersionField),
  variables: v.optional(VariablesField),
  strict: v.optional(StrictField),
  ...EmailAttachmentFields,
  list_unsubscribe: v.optional(ListUnsubscribeField),
};

type ContentChoice = {
  template_id?: string;
  template_version?: number;
  variables?: Record<string, unknown>;
  subject?: string;
  text?: string;
  html?: string;
};

/** What is wrong with the choice between a template and the content itself, by field. */
export function contentChoiceProblems(e: ContentChoice): { key: keyof ContentChoice; message: string }[] {
  const problems: { key: keyof ContentChoice; message: string }[] = [];
  if (e.template_id !== undefined) {
    for (const key of ["subject", "text", "html"] as const) {
      if (e[key] !== undefined) {
        problems.push({ key, message: "comes from the template; give template_id or the content, not both" });
      }
    }
    return problems;
  }
  if (e.template_version !== undefined) problems.push({ key: "template_version", message: "needs template_id" });
  if (e.subject === undefined) problems.push({ key: "subject", message: "give a subject (or a template_id)" });
  if (e.text === undefined && e.html === undefined) {
    problems.push({ key: "text", message: "give text, html or both (or a template_id)" });
  }
  return problems;
}

/** Either a template, or the content itself: a subject and text, html or both. */
export const contentChoice = <T extends ContentChoice>() =>
  v.rawCheck<T>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const input = dataset.value as Record<string, unknown>;
    for (const { key, message } of contentChoiceProblems(dataset.value)) {
      addIssue({ message, path: [{ type: "object", origin: "value", input, key, value: input[key] }] });
    }
  });
