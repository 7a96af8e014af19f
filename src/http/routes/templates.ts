// /v1/templates: versioned templates, their versions, and a render preview. Only translates
// HTTP; the rules live in src/templates.
import { Hono } from "hono";
import { describeRoute, validator } from "hono-openapi";
import * as v from "valibot";
import type { AppDeps } from "../../deps";
import { notFound } from "../../errors";
import {
  CreateTemplateSchema,
  createTemplate,
  deleteTemplate,
  getTemplate,
  getTemplateVersion,
  listTemplates,
  listTemplateVersions,
  RenderedTemplateSchema,
  RenderTemplateSchema,
  renderTemplate,
  TemplateListItemSchema,
  TemplateSchema,
  TemplateVersionListItemSchema,
  TemplateVersionSchema,
  UpdateTemplateSchema,
  updateTemplate,
} from "../../templates";
import { IntegerParam, MAX_STORED_INTEGER } from "../../validation";
import type { AppEnv } from "../env";
import { jsonResponse, PageQuery, pageOf, problems, TENANT_SECURITY } from "../openapi";
import { jsonBody, queryParams } from "../validate";

const ListQuery = v.object({
  ...PageQuery.entries,
  include: v.optional(
    v.pipe(
      v.picklist(["content"]),
      v.description("`content`: each item with its `html` and `text`. Without it a page leaves them out."),
    ),
  ),
});
const VersionPath = v.object({
  id: v.string(),
  version: v.pipe(IntegerParam(1, MAX_STORED_INTEGER), v.description("The version, from 1.")),
});
const tags = ["Templates"];

export function templatesApi(deps: AppDeps) {
  const db = deps.db.kysely;
  const r = new Hono<AppEnv>();

  r.post(
    "/",
    describeRoute({
      tags,
      summary: "Create a template",
      operationId: "createTemplate",
      description:
        "Handlebars: `{{name}}` is HTML-escaped in `html`, `{{{name}}}` is inserted as is; `subject` and `text` " +
        "are never escaped. Helpers: if, unless, each, with, lookup. A part that does not compile is refused " +
        "(422 naming the part, line and column). The template starts at version 1.",
      security: TENANT_SECURITY,
      responses: { 201: jsonResponse("Created", TemplateSchema), ...problems(400, 401, 415, 422) },
    }),
    jsonBody(CreateTemplateSchema),
    async (c) =>
      c.json(await createTemplate(db, c.get("tenantId"), c.req.valid("json"), deps.config.contentMaxBytes), 201),
  );

  r.get(
    "/",
    describeRoute({
      tags,
      summary: "List templates",
      operationId: "listTemplates",
      description:
        "Newest first, each with its current version's subject; `include=content` adds `html` and `text` " +
        "(or get one template by its id).",
      security: TENANT_SECURITY,
      responses: {
        200: jsonResponse("A page of templates", pageOf(TemplateListItemSchema, "TemplatePage")),
        ...problems(401, 422),
      },
    }),
    queryParams(ListQuery),
    async (c) => c.json(await listTemplates(db, c.get("tenantId"), c.req.valid("query"))),
  );

  r.get(
    "/:id",
    describeRoute({
      tags,
      summary: "Get a template",
      operationId: "getTemplate",
      security: TENANT_SECURITY,
      responses: { 200: jsonResponse("The template (current version)", TemplateSchema), ...problems(401, 404) },
    }),
    async (c) => c.json(await getTemplate(db, c.get("tenantId"), c.req.param("id"))),
  );

  r.patch(
    "/:id",
    describeRoute({
      tags,
      summary: "Change a template",
      operationId: "updateTemplate",
      description:
        "A change of subject, html or text writes a new version and makes it current; earlier versions stay as " +
        "they were and renderable. Emails already accepted keep the content they were rendered with.",
      security: TENANT_SECURITY,
      responses: { 200: jsonResponse("The template", TemplateSchema), ...problems(400, 401, 404, 415, 422) },
    }),
    jsonBody(UpdateTemplateSchema),
    async (c) =>
      c.json(
        await updateTemplate(
          db,
          c.get("tenantId"),
          c.req.param("id"),
          c.req.valid("json"),
          deps.config.contentMaxBytes,
        ),
      ),
  );

  r.delete(
    "/:id",
    describeRoute({
      tags,
      summary: "Delete a template and its versions",
      operationId: "deleteTemplate",
      description: "Emails already accepted from it are not affected (they were rendered when accepted).",
      security: TENANT_SECURITY,
      responses: { 204: { description: "Deleted" }, ...problems(401, 404) },
    }),
    async (c) => {
      await deleteTemplate(db, c.get("tenantId"), c.req.param("id"));
      return c.body(null, 204);
    },
  );

  r.get(
    "/:id/versions",
    describeRoute({
      tags,
      summary: "List a template's versions",
      operationId: "listTemplateVersions",
      description: "Newest first; `include=content` adds each version's `html` and `text`.",
      security: TENANT_SECURITY,
      responses: {
        200: jsonResponse("A page of versions", pageOf(TemplateVersionListItemSchema, "TemplateVersionPage")),
        ...problems(401, 404, 422),
      },
    }),
    queryParams(ListQuery),
    async (c) => c.json(await listTemplateVersions(db, c.get("tenantId"), c.req.param("id"), c.req.valid("query"))),
  );

  r.get(
    "/:id/versions/:version",
    describeRoute({
      tags,
      summary: "Get one version of a template",
      operationId: "getTemplateVersion",
      security: TENANT_SECURITY,
      responses: { 200: jsonResponse("The version", TemplateVersionSchema), ...problems(401, 404) },
    }),
    // A path that names no version is one that does not exist: 404, as for an unknown version.
    validator("param", VersionPath, (result) => {
      if (!result.success) throw notFound("template version");
    }),
    async (c) => {
      const { id, version } = c.req.valid("param");
      return c.json(await getTemplateVersion(db, c.get("tenantId"), id, version));
    },
  );

  r.post(
    "/:id/render",
    describeRoute({
      tags,
      summary: "Preview a template",
      operationId: "renderTemplate",
      description:
        "Renders subject, html and text with `variables`, without sending anything. A variable the template uses " +
        "but you did not give renders empty, or is a 422 with `strict: true`.",
      security: TENANT_SECURITY,
      responses: {
        200: jsonResponse("The rendered content", RenderedTemplateSchema),
        ...problems(400, 401, 404, 415, 422),
      },
    }),
    jsonBody(RenderTemplateSchema),
    async (c) =>
      c.json(
        await renderTemplate(
          db,
          c.get("tenantId"),
          c.req.param("id"),
          c.req.valid("json"),
          deps.config.contentMaxBytes,
        ),
      ),
  );

  return r;
}
