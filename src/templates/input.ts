// What a template is written with, and what rendering one takes. These schemas validate the
// requests and document them; compiling (with line and column of a mistake) is the domain's check.
import * as v from "valibot";
import { CONTENT_MAX_DOC } from "../mail";
import { MAX_STORED_INTEGER, named } from "../validation";
import { MAX_BLOCK_DEPTH, MAX_TEMPLATE_EXPRESSIONS } from "./engine";
import { MAX_RENDER_STEPS } from "./render-budget";

const PART_LIMITS_DOC =
  `At most ${MAX_TEMPLATE_EXPRESSIONS} \`{{…}}\` expressions and blocks, nested at most ${MAX_BLOCK_DEPTH} deep; ` +
  "rendered, it must fit in the same size.";

export const MAX_TEMPLATE_NAME = 200;
export const MAX_SUBJECT_SOURCE = 2000;
export const MAX_BODY_SOURCE = 512 * 1024;
export const MAX_VARIABLES_KEYS = 500;

const noControlChars = v.regex(/^[^\p{Cc}]*$/u, "must not contain line breaks or control characters");

const NameField = v.pipe(
  v.string(),
  v.trim(),
  v.minLength(1, "must not be empty"),
  v.maxLength(MAX_TEMPLATE_NAME),
  noControlChars,
  v.description("A name to recognise the template by."),
);

const SubjectField = v.pipe(
  v.string(),
  v.maxLength(MAX_SUBJECT_SOURCE),
  v.regex(/^[^\r\n]*$/, "must not contain CR or LF"),
  v.description("Subject line template, e.g. `Your order {{order.id}}`. Not HTML-escaped."),
);
const HtmlField = v.pipe(
  v.string(),
  v.maxLength(MAX_BODY_SOURCE),
  v.description(
    `HTML part. \`{{x}}\` is HTML-escaped; \`{{{x}}}\` inserts trusted HTML as is. ${CONTENT_MAX_DOC} ${PART_LIMITS_DOC}`,
  ),
);
const TextField = v.pipe(
  v.string(),
  v.maxLength(MAX_BODY_SOURCE),
  v.description(`Plain-text part. Never HTML-escaped. ${CONTENT_MAX_DOC} ${PART_LIMITS_DOC}`),
);

/** Every field a template is created with; a PATCH takes any of them (UpdateTemplateSchema). */
const TEMPLATE_FIELDS = {
  name: NameField,
  subject: SubjectField,
  html: v.optional(v.nullable(HtmlField)),
  text: v.optional(v.nullable(TextField)),
};

const CreateTemplateFields = v.pipe(
  v.object(TEMPLATE_FIELDS),
  v.forward(
    v.check((t) => (t.html ?? null) !== null || (t.text ?? null) !== null, "give html, text or both"),
    ["html"],
  ),
  v.description(
    "Handlebars syntax. Helpers: if, unless, each, with, lookup. A template that does not compile is refused (422, " +
      "with the part, line and column). Rendering one email may take at most " +
      `${MAX_RENDER_STEPS.toLocaleString("en")} steps (an iteration of a block, a branch, a value inserted) and ` +
      "each part at most POSTHORN_CONTENT_MAX_BYTES; past either, the send or preview is refused with 422 " +
      "`template_render_limit`.",
  ),
);

export const CreateTemplateSchema = named("CreateTemplateRequest", CreateTemplateFields, {
  name: "Order confirmation",
  subject: "Your order {{order.id}}",
  html: "<p>Hello {{name}}, thanks for order {{order.id}}.</p>",
  text: "Hello {{name}}, thanks for order {{order.id}}.",
});

export const UpdateTemplateSchema = named(
  "UpdateTemplateRequest",
  v.pipe(
    v.partial(v.object(TEMPLATE_FIELDS)),
    v.description(
      "Fields left out keep their value; `null` removes the html or text part. A change of subject, html or text " +
        "writes a new version (versions are never changed); a change of name alone does not.",
    ),
  ),
  { subject: "Your order {{order.id}} is confirmed" },
);

export const VariablesField = v.pipe(
  v.record(v.string(), v.unknown()),
  v.check((vars) => Object.keys(vars).length <= MAX_VARIABLES_KEYS, `at most ${MAX_VARIABLES_KEYS} top-level keys`),
  v.description("Values for the template's `{{placeholders}}`: any JSON, nested objects and arrays included."),
  v.examples([{ name: "Ada", order: { id: "A-1042", items: [{ title: "Pen" }] } }]),
);

export const StrictField = v.pipe(
  v.boolean(),
  v.description("Refuse (422) when the template uses a variable that was not given, instead of rendering it empty."),
);

export const VersionField = v.pipe(
  v.number(),
  v.integer("must be a whole number"),
  v.minValue(1, "must be at least 1"),
  v.maxValue(MAX_STORED_INTEGER, `must be at most ${MAX_STORED_INTEGER}`),
  v.description("A version of the template; default: its current version."),
);

export const RenderTemplateSchema = named(
  "RenderTemplateRequest",
  v.object({
    variables: v.optional(VariablesField),
    version: v.optional(VersionField),
    strict: v.optional(StrictField),
  }),
  { variables: { name: "Ada", order: { id: "A-1042" } }, strict: true },
);

export type CreateTemplateInput = v.InferOutput<typeof CreateTemplateSchema>;
export type UpdateTemplateInput = v.InferOutput<typeof UpdateTemplateSchema>;
export type RenderTemplateInput = v.InferOutput<typeof RenderTemplateSchema>;
