// A template, its versions and a rendering as the API shows them: declared once here, the
// module's types inferred from them.
import * as v from "valibot";

const Timestamp = v.pipe(v.string(), v.isoTimestamp());
const Content = {
  subject: v.string(),
  html: v.nullable(v.string()),
  text: v.nullable(v.string()),
};

export const TemplateSchema = v.pipe(
  v.object({
    id: v.pipe(v.string(), v.examples(["tpl_01jd8y2v3k4m5n6p7q8r9s0t1u"])),
    object: v.literal("template"),
    name: v.string(),
    version: v.pipe(v.number(), v.description("The current version: what emails get unless they name another.")),
    ...Content,
    created_at: Timestamp,
    updated_at: Timestamp,
  }),
  v.title("Template"),
);

export const TemplateVersionSchema = v.pipe(
  v.object({
    template_id: v.string(),
    object: v.literal("template_version"),
    version: v.number(),
    ...Content,
    created_at: Timestamp,
  }),
  v.title("TemplateVersion"),
);

// Lists leave the bodies out unless asked: 200 templates of two 512 KB parts would be 200 MB
// in one page.
const onlyWithContent = (what: string) =>
  v.optional(v.pipe(v.nullable(v.string()), v.description(`${what}; present only with \`include=content\`.`)));
const ListedContent = { html: onlyWithContent("The HTML part"), text: onlyWithContent("The text part") };
export const TemplateListItemSchema = v.pipe(
  v.object({ ...TemplateSchema.pipe[0].entries, ...ListedContent }),
  v.title("TemplateListItem"),
);
export const TemplateVersionListItemSchema = v.pipe(
  v.object({ ...TemplateVersionSchema.pipe[0].entries, ...ListedContent }),
  v.title("TemplateVersionListItem"),
);

export const RenderedTemplateSchema = v.pipe(
  v.object({ template_id: v.string(), version: v.number(), ...Content }),
  v.title("RenderedTemplate"),
);

/** A template; `html` and `text` are left out of a list page unless it asks for `include=content`. */
export type Template = v.InferOutput<typeof TemplateListItemSchema>;
/** A version; `html` and `text` are left out of a list page unless it asks for `include=content`. */
export type TemplateVersion = v.InferOutput<typeof TemplateVersionListItemSchema>;
export type RenderedContent = v.InferOutput<typeof RenderedTemplateSchema>;
