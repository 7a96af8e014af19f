// A tenant's templates: every change of content writes a new, immutable version, and any version
// can still be rendered. Emails are rendered when they are accepted (src/emails), so a queued
// email never changes when its template does.
import type { Kysely } from "kysely";
import type { Database } from "../db";
import { type FieldIssue, notFound, PosthornError, validationFailed } from "../errors";
import { newId } from "../ids";
import { contentSizeProblem } from "../mail";
import { decodeCursor, type Page, type PageRequest, pageSize, toPage } from "../pagination";
import {
  checkTemplateSource,
  describeProblem,
  renderTemplatePart,
  TemplateError,
  TemplateLimitError,
  type TemplatePart,
} from "./engine";
import type { CreateTemplateInput, UpdateTemplateInput } from "./input";
import { MAX_RENDER_STEPS, RenderBudget } from "./render-budget";
import type { RenderedContent, Template, TemplateVersion } from "./schemas";
import {
  bumpCurrentVersion,
  deleteTemplateRow,
  renameTemplate,
  selectTemplate,
  selectTemplatePage,
  selectTemplateVersion,
  selectVersionPage,
  type TemplateVersionRow,
} from "./store";

const iso = (ms: number) => new Date(ms).toISOString();
type Db = Kysely<Database>;

type Bodies = { html?: string | null; text?: string | null };
/** The bodies when the row has them (a list page reads them only when asked). */
const bodiesOf = (row: Bodies) => ("html" in row ? { html: row.html ?? null, text: row.text ?? null } : {});

const toVersion = (
  v: Pick<TemplateVersionRow, "template_id" | "version" | "subject" | "created_at"> & Bodies,
): TemplateVersion => ({
  template_id: v.template_id,
  object: "template_version",
  version: v.version,
  subject: v.subject,
  ...bodiesOf(v),
  created_at: iso(v.created_at),
});

type TemplateWithContent = {
  id: string;
  name: string;
  current_version: number;
  created_at: number;
  updated_at: number;
  subject: string;
} & Bodies;

const toTemplate = (t: TemplateWithContent): Template => ({
  id: t.id,
  object: "template",
  name: t.name,
  version: t.current_version,
  subject: t.subject,
  ...bodiesOf(t),
  created_at: iso(t.created_at),
  updated_at: iso(t.updated_at),
});

/**
 * Every part must fit in an email (POSTHORN_CONTENT_MAX_BYTES) and compile; all problems are
 * reported at once, each naming its part (and the line and column of a compile error).
 */
function checkContent(content: { subject: string; html: string | null; text: string | null }, maxBytes: number): void {
  const issues: FieldIssue[] = [];
  for (const part of ["subject", "html", "text"] as const) {
    const source = content[part];
    if (source === null) continue;
    const tooLarge = contentSizeProblem(source, maxBytes);
    if (tooLarge) {
      issues.push({ field: part, message: `${part}: ${tooLarge}` });
      continue;
    }
    const problem = checkTemplateSource(part, source);
    if (problem) issues.push({ field: part, message: describeProblem(problem) });
  }
  if (issues.length > 0) {
    throw new PosthornError("validation_failed", `The template cannot be saved: ${issues[0]!.message}`, { issues });
  }
}

/** `contentMaxBytes`: the largest html or text part (POSTHORN_CONTENT_MAX_BYTES). */
export async function createTemplate(
  db: Db,
  tenantId: string,
  input: CreateTemplateInput,
  contentMaxBytes: number,
): Promise<Template> {
  const content = { subject: input.subject, html: input.html ?? null, text: input.text ?? null };
  checkContent(content, contentMaxBytes);
  const now = Date.now();
  const id = newId("tpl", now);
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto("templates")
      .values({ id, tenant_id: tenantId, name: input.name, current_version: 1, created_at: now, updated_at: now })
      .execute();
    await trx
      .insertInto("template_versions")
      .values({ template_id: id, version: 1, tenant_id: tenantId, ...content, created_at: now })
      .execute();
  });
  return toTemplate({ id, name: input.name, current_version: 1, created_at: now, updated_at: now, ...content });
}

export async function getTemplate(db: Db, tenantId: string, id: string): Promise<Template> {
  const t = await selectTemplate(db, tenantId, id);
  const v = t && (await selectTemplateVersion(db, tenantId, id, t.current_version));
  if (!t || !v) throw notFound("template");
  return toTemplate({ ...t, subject: v.subject, html: v.html, text: v.text });
}

/** A page of a list: `include: "content"` adds each item's html and text, left out otherwise. */
export type ListRequest = PageRequest & { include?: "content" };

export async function listTemplates(db: Db, tenantId: string, page: ListRequest = {}): Promise<Page<Template>> {
  const limit = pageSize(page.limit);
  const rows = await selectTemplatePage(db, tenantId, decodeCursor(page.cursor), limit, page.include === "content");
  return toPage(rows, limit, toTemplate);
}

/** A change of content writes version n+1 (from the current one, with the changes applied). */
export async function updateTemplate(
  db: Db,
  tenantId: string,
  id: string,
  patch: UpdateTemplateInput,
  contentMaxBytes: number,
): Promise<Template> {
  const changesContent = patch.subject !== undefined || patch.html !== undefined || patch.text !== undefined;
  const now = Date.now();
  await db.transaction().execute(async (trx) => {
    if (!changesContent) {
      if (patch.name !== undefined && !(await renameTemplate(trx, tenantId, id, patch.name, now))) {
        throw notFound("template");
      }
      return;
    }
    const current = await selectTemplateVersion(trx, tenantId, id);
    if (!current) throw notFound("template");
    const content = {
      subject: patch.subject ?? current.subject,
      html: patch.html !== undefined ? patch.html : current.html,
      text: patch.text !== undefined ? patch.text : current.text,
    };
    if (content.html === null && content.text === null) throw validationFailed("html", "give html, text or both");
    checkContent(content, contentMaxBytes);
    const version = await bumpCurrentVersion(trx, tenantId, id, { name: patch.name, now });
    if (version === undefined) throw notFound("template");
    await trx
      .insertInto("template_versions")
      .values({ template_id: id, version, tenant_id: tenantId, ...content, created_at: now })
      .execute();
  });
  return getTemplate(db, tenantId, id);
}

export async function deleteTemplate(db: Db, tenantId: string, id: string): Promise<void> {
  if (!(await deleteTemplateRow(db, tenantId, id))) throw notFound("template");
}

export async function getTemplateVersion(
  db: Db,
  tenantId: string,
  id: string,
  version: number,
): Promise<TemplateVersion> {
  const v = await selectTemplateVersion(db, tenantId, id, version);
  if (!v) throw notFound("template version");
  return toVersion(v);
}

/** Versions newest first; the cursor is the opaque form of the last version number of the page. */
export async function listTemplateVersions(
  db: Db,
  tenantId: string,
  id: string,
  page: ListRequest = {},
): Promise<Page<TemplateVersion>> {
  if (!(await selectTemplate(db, tenantId, id))) throw notFound("template");
  const limit = pageSize(page.limit);
  const before = decodeVersionCursor(page.cursor);
  const rows = await selectVersionPage(db, id, before, limit, page.include === "content");
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return {
    data: kept.map(toVersion),
    next_cursor: more ? Buffer.from(`v${kept[kept.length - 1]!.version}`).toString("base64url") : null,
  };
}

function decodeVersionCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const m = /^v(\d{1,9})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!m) throw validationFailed("cursor", "is not a cursor returned by this API");
  return Number(m[1]);
}

/** Subject lines are one header line: a variable holding a line break must not start a new header. */
const oneLine = (s: string) => s.replace(/[\r\n]+/g, " ").trim();

/**
 * Renders a stored version with the variables, within the request's budget; a problem (strict
 * mode, bad data) is a TemplateError, a render over its limits a 422 `template_render_limit`.
 */
export function renderVersion(
  v: TemplateVersionRow,
  variables: Record<string, unknown>,
  strict: boolean,
  request: RenderBudget,
): RenderedContent {
  const key = `${v.template_id}:${v.version}`;
  const budget = { request, email: { steps: MAX_RENDER_STEPS } };
  const render = (part: TemplatePart, source: string | null) =>
    source === null ? null : renderTemplatePart(key, part, source, variables, strict, budget);
  try {
    return {
      template_id: v.template_id,
      version: v.version,
      subject: oneLine(render("subject", v.subject) ?? ""),
      html: render("html", v.html),
      text: render("text", v.text),
    };
  } catch (err) {
    if (!(err instanceof TemplateLimitError)) throw err;
    const message = `${err.part}: ${err.message}`;
    throw new PosthornError("template_render_limit", `variables: ${message}`, {
      issues: [{ field: "variables", message }],
    });
  }
}

/** A preview of what an email from this template (and version) with these variables would say. */
export async function renderTemplate(
  db: Db,
  tenantId: string,
  id: string,
  input: { variables?: Record<string, unknown>; version?: number; strict?: boolean },
  maxPartBytes: number,
): Promise<RenderedContent> {
  const v = await selectTemplateVersion(db, tenantId, id, input.version);
  if (!v) throw notFound(input.version !== undefined ? "template version" : "template");
  try {
    return renderVersion(v, input.variables ?? {}, input.strict ?? false, new RenderBudget(maxPartBytes));
  } catch (err) {
    if (err instanceof TemplateError) throw validationFailed("variables", describeProblem(err.problem));
    throw err;
  }
}
