// What an accepted email will say, decided at acceptance: a template is rendered now (so a
// later edit of the template never changes a queued email), attachments are checked, and the
// List-Unsubscribe headers are signed. A batch shares one ContentContext, so each template
// version and each uploaded attachment is looked up once per request, not once per email.
import type { Kysely } from "kysely";
import { attachmentFinder, type CheckedInline, type EmailAttachmentRef, prepareEmailAttachments } from "../attachments";
import type { Config } from "../config";
import type { SecretBox } from "../crypto";
import type { Database } from "../db";
import { validationFailed } from "../errors";
import { refuseOversizedContent } from "../mail";
import {
  describeProblem,
  RenderBudget,
  renderVersion,
  selectTemplateVersion,
  TemplateError,
  type TemplateVersionRow,
} from "../templates";
import { hasOwnListUnsubscribe, listUnsubscribeHeaders } from "../unsubscribe";
import { MAX_SUBJECT_LENGTH, type SendEmailRequest } from "./send-request";

export interface ContentDeps {
  db: { kysely: Kysely<Database> };
  config: Pick<Config, "publicUrl" | "attachmentMaxBytes" | "attachmentMaxFiles" | "contentMaxBytes">;
  secrets: SecretBox;
}

export interface EmailContent {
  subject: string;
  text: string | null;
  html: string | null;
  templateId: string | null;
  templateVersion: number | null;
  /** Headers Posthorn adds (List-Unsubscribe), merged over the caller's own. */
  headers: Record<string, string>;
  attachments: EmailAttachmentRef[];
}

/** Lookups shared by the emails of one request. */
export interface ContentContext {
  tenantId: string;
  templateVersion(templateId: string, version: number | undefined): Promise<TemplateVersionRow | undefined>;
  findAttachments: ReturnType<typeof attachmentFinder>;
  checkedInline: CheckedInline;
  /** What rendering may cost this request (a batch shares it), and the largest part. */
  render: RenderBudget;
}

export function contentContext(deps: ContentDeps, tenantId: string): ContentContext {
  const versions = new Map<string, Promise<TemplateVersionRow | undefined>>();
  return {
    tenantId,
    templateVersion(templateId, version) {
      const key = `${templateId}:${version ?? "current"}`;
      let found = versions.get(key);
      if (!found) {
        found = selectTemplateVersion(deps.db.kysely, tenantId, templateId, version);
        versions.set(key, found);
      }
      return found;
    },
    findAttachments: attachmentFinder(deps.db.kysely, tenantId),
    checkedInline: new Map(),
    render: new RenderBudget(deps.config.contentMaxBytes),
  };
}

/**
 * A message has no place for NUL (RFC 5322 §2.3; SMTP servers refuse it) and Postgres text
 * cannot hold it: refused here, whether it was given or came out of a template's variables.
 */
function refuseNul<T extends { subject: string; text: string | null; html: string | null }>(c: T, field?: string): T {
  for (const key of ["subject", "text", "html"] as const) {
    if (c[key]?.includes("\u0000")) throw validationFailed(field ?? key, "must not contain NUL (U+0000)");
  }
  return c;
}

async function renderedContent(ctx: ContentContext, req: SendEmailRequest) {
  if (req.template_id === undefined) {
    const given = { subject: req.subject ?? "", text: req.text ?? null, html: req.html ?? null };
    return refuseNul({
      ...refuseOversizedContent(given, ctx.render.maxPartBytes),
      templateId: null,
      templateVersion: null,
    });
  }
  const version = await ctx.templateVersion(req.template_id, req.template_version);
  if (!version) {
    throw req.template_version !== undefined
      ? validationFailed("template_version", `template ${req.template_id} has no version ${req.template_version}`)
      : validationFailed("template_id", "no such template");
  }
  try {
    const r = renderVersion(version, req.variables ?? {}, req.strict ?? false, ctx.render);
    if (r.subject.length > MAX_SUBJECT_LENGTH) {
      throw validationFailed("variables", `the rendered subject is longer than ${MAX_SUBJECT_LENGTH} characters`);
    }
    return refuseNul(
      { subject: r.subject, text: r.text, html: r.html, templateId: r.template_id, templateVersion: r.version },
      "variables",
    );
  } catch (err) {
    if (err instanceof TemplateError) throw validationFailed("variables", describeProblem(err.problem));
    throw err;
  }
}

/** The email's content; a problem is a 422 naming the field (or a 413 for an oversized file). */
export async function resolveContent(
  deps: ContentDeps,
  ctx: ContentContext,
  emailId: string,
  req: SendEmailRequest,
): Promise<EmailContent> {
  if (req.list_unsubscribe !== undefined && req.list_unsubscribe !== false && hasOwnListUnsubscribe(req.headers)) {
    throw validationFailed("list_unsubscribe", "give list_unsubscribe or your own List-Unsubscribe headers, not both");
  }
  const headers = listUnsubscribeHeaders(req.list_unsubscribe, {
    publicUrl: deps.config.publicUrl,
    secrets: deps.secrets,
    tenantId: ctx.tenantId,
    emailId,
    recipients: [...req.to, ...(req.cc ?? []), ...(req.bcc ?? [])].map((a) => a.email),
  });
  const attachments = await prepareEmailAttachments(req, {
    find: ctx.findAttachments,
    maxBytes: deps.config.attachmentMaxBytes,
    maxFiles: deps.config.attachmentMaxFiles,
    checked: ctx.checkedInline,
  });
  return { ...(await renderedContent(ctx, req)), headers, attachments };
}
