// /v1/attachments: upload (multipart), read, download, delete. Only translates HTTP; the checks
// and storage live in src/attachments.
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import {
  AttachmentSchema,
  deleteAttachment,
  getAttachment,
  getAttachmentContent,
  listAttachments,
  UploadBuffers,
  UploadedAttachmentsSchema,
  uploadAttachments,
} from "../../attachments";
import type { AppDeps } from "../../deps";
import { PosthornError } from "../../errors";
import type { AppEnv } from "../env";
import { largestRequestBody } from "../middleware/body-limit";
import { multipartFiles } from "../multipart-files";
import { jsonResponse, PageQuery, pageOf, problems, responseHeaders, TENANT_SECURITY } from "../openapi";
import { queryParams } from "../validate";

const MULTIPART = /^multipart\/form-data\s*(;|$)/i;
const tags = ["Attachments"];

export function attachmentsApi(deps: AppDeps) {
  const db = deps.db.kysely;
  const { config } = deps;
  const limits = {
    maxBytes: config.attachmentMaxBytes,
    maxFiles: config.attachmentMaxFiles,
    ttlMs: config.attachmentTtlMs,
  };
  const framing = { maxFiles: config.attachmentMaxFiles, maxBodyBytes: largestRequestBody(config) };
  const buffers = new UploadBuffers(config.attachmentMaxBytes);
  const r = new Hono<AppEnv>();

  r.post(
    "/",
    describeRoute({
      tags,
      summary: "Upload attachments",
      operationId: "uploadAttachments",
      description:
        `One or several files as \`multipart/form-data\` (any field name; \`files\` by convention), at most ` +
        `${config.attachmentMaxFiles} files of ${config.attachmentMaxBytes} bytes each (POSTHORN_ATTACHMENT_MAX_FILES, ` +
        "POSTHORN_ATTACHMENT_MAX_BYTES): a larger file is a 413. The type is detected from the bytes against an " +
        "allowlist of document, image, archive and media types; executables are refused whatever their name. " +
        "Files are read as they arrive: an oversized file is refused as soon as it passes the limit, an executable on " +
        "its first bytes, and a refused request stores nothing. A file over 1 MB may wait for another large upload " +
        "to be stored (503 with Retry-After after 30 s), and must then keep coming at 256 KB/s (400 otherwise). " +
        "Reference the ids in `attachment_ids` of an email; an upload no email references is deleted after " +
        "POSTHORN_ATTACHMENT_TTL.",
      security: TENANT_SECURITY,
      requestBody: {
        required: true,
        content: {
          "multipart/form-data": {
            schema: {
              type: "object",
              properties: {
                files: { type: "array", items: { type: "string", format: "binary" }, description: "The files." },
              },
              required: ["files"],
            },
          },
        },
      },
      responses: { 201: jsonResponse("Stored", UploadedAttachmentsSchema), ...problems(400, 401, 413, 415, 422, 503) },
    }),
    async (c) => {
      if (!MULTIPART.test(c.req.header("Content-Type") ?? "")) {
        throw new PosthornError("unsupported_media_type", "Upload files as multipart/form-data.");
      }
      // Streamed: each file is checked as it arrives, and a refusal stops reading the body.
      const files = multipartFiles(c.req.raw.body, c.req.header("Content-Type") ?? "", framing);
      return c.json({ data: await uploadAttachments(db, limits, buffers, c.get("tenantId"), files) }, 201);
    },
  );

  r.get(
    "/",
    describeRoute({
      tags,
      summary: "List attachments",
      operationId: "listAttachments",
      description: "Newest first; metadata only. Files sent inline with emails are listed too.",
      security: TENANT_SECURITY,
      responses: {
        200: jsonResponse("A page of attachments", pageOf(AttachmentSchema, "AttachmentPage")),
        ...problems(401, 422),
      },
    }),
    queryParams(PageQuery),
    async (c) => c.json(await listAttachments(db, c.get("tenantId"), c.req.valid("query"))),
  );

  r.get(
    "/:id",
    describeRoute({
      tags,
      summary: "Get an attachment's metadata",
      operationId: "getAttachment",
      security: TENANT_SECURITY,
      responses: { 200: jsonResponse("The attachment", AttachmentSchema), ...problems(401, 404) },
    }),
    async (c) => c.json(await getAttachment(db, c.get("tenantId"), c.req.param("id"))),
  );

  r.get(
    "/:id/content",
    describeRoute({
      tags,
      summary: "Download an attachment",
      operationId: "downloadAttachment",
      description: "The stored bytes, as a download (never rendered inline by a browser).",
      security: TENANT_SECURITY,
      responses: {
        200: {
          description: "The file, with the content type it was stored with.",
          headers: responseHeaders("Content-Disposition"),
          content: { "*/*": { schema: { type: "string", format: "binary" } } },
        },
        ...problems(401, 404),
      },
    }),
    async (c) => {
      const { attachment, bytes } = await getAttachmentContent(db, c.get("tenantId"), c.req.param("id"));
      return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
        "Content-Type": attachment.content_type,
        "Content-Disposition": `attachment; filename*=UTF-8''${encodeURIComponent(attachment.filename)}`,
        "X-Content-Type-Options": "nosniff",
      });
    },
  );

  r.delete(
    "/:id",
    describeRoute({
      tags,
      summary: "Delete an attachment",
      operationId: "deleteAttachment",
      description: "409 while an email that is still to be sent uses it.",
      security: TENANT_SECURITY,
      responses: { 204: { description: "Deleted" }, ...problems(401, 404, 409) },
    }),
    async (c) => {
      await deleteAttachment(db, c.get("tenantId"), c.req.param("id"));
      return c.body(null, 204);
    },
  );

  return r;
}
