// A template, its versions and a rendering as the API shows them: declared once here, the
// module's types inferred from them.
import * as v from "valibot";
import { Integer, named, Timestamp } from "../validation";

const EXAMPLE_ID = "tpl_01m8vv5rm0w0zmws1e8p6khwxt";
const Content = {
  subject: v.string(),
  html: v.nullable(v.string()),
  text: v.nullable(v.string()),
};
const EXAMPLE_CONTENT = {
  subject: "Your order {{order.id}}",
  html: "<p>Hello {{name}}, thanks for order {{order.id}}.</p>",
  text: "Hello {{name}}, thanks for order {{order.id}}.",
};

export const TemplateSchema = named(
  "Template",
  v.object({
    id: v.string(),
    object: v.literal("template"),
    name: v.string(),
    version: v.pipe(Integer, v.description("The current version: what emails get unless they name another.")),
    ...Content,
    created_at: Timestamp,
    updated_at: Timestamp,
  }),
  {
    id: EXAMPLE_ID,
    object: "template",
    name: "Order confirmation",
    version: 2,
    ...EXAMPLE_CONTENT,
    created_at: "2026-12-02T17:00:00.000Z",
    updated_at: "2026-12-02T17:20:00.000Z",
  },
);

export const TemplateVersionSchema = named(
  "TemplateVersion",
  v.object({
    template_id: v.string(),
    object: v.literal("template_version"),
    version: Integer,
    ...Content,
    created_at: Timestamp,
  }),
  {
    template_id: EXAMPLE_ID,
    object: "template_version",
    version: 2,
    ...EXAMPLE_CONTENT,
    created_at: "2026-12-02T17:20:00.000Z",
  },
);

// Lists leave the bodies out unless asked: 200 templates of two 512 KB parts would be 200 MB
// in one page.
const onlyWithContent = (what: string) =>
  v.optional(v.pipe(v.nullable(v.string()), v.description(`${what}; present only with \`include=content\`.`)));
const ListedContent = { html: onlyWithContent("The HTML part"), text: onlyWithContent("The text part") };
export const TemplateListItemSchema = named(
  "TemplateListItem",
  v.object({ ...TemplateSchema.pipe[0].entries, ...ListedContent }),
);
export const TemplateVersionListItemSchema = named(
  "TemplateVersionListItem",
  v.object({ ...TemplateVersionSchema.pipe[0].entries, ...ListedContent }),
);

export const RenderedTemplateSchema = named(
  "RenderedTemplate",
  v.object({ template_id: v.string(), version: Integer, ...Content }),
  {
    template_id: EXAMPLE_ID,
    version: 2,
    subject: "Your order A-1042",
    html: "<p>Hello Ada, thanks for order A-1042.</p>",
    text: "Hello Ada, thanks for order A-1042.",
  },
);

/** A template; `html` and `text` are left out of a list page unless it asks for `include=content`. */
export type Template = v.InferOutput<typeof TemplateListItemSchema>;
/** A version; `html` and `text` are left out of a list page unless it asks for `include=content`. */
export type TemplateVersion = v.InferOutput<typeof TemplateVersionListItemSchema>;
export type RenderedContent = v.InferOutput<typeof RenderedTemplateSchema>;
