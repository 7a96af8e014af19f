// /u/{token}: the unsubscribe link in List-Unsubscribe, served without an API key (the token is
// sealed, see src/unsubscribe/token.ts). POST is RFC 8058's one-click, sent by the mailbox provider; GET is a person following
// the link, who gets a page with a button, because link scanners follow GETs on their own and
// must never unsubscribe anyone.

import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { describeRoute } from "hono-openapi";
import type { AppDeps } from "../../deps";
import { PosthornError } from "../../errors";
import { readUnsubscribeToken, unsubscribeByToken } from "../../unsubscribe";
import type { AppEnv } from "../env";
import { problemResponse } from "../openapi";

/** RFC 8058's body is `List-Unsubscribe=One-Click`; nothing bigger is expected. */
const MAX_BODY = 4096;
const PAGE_HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  // frame-ancestors: a framed page could trick a click on its button (clickjacking).
  "Content-Security-Policy":
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "Cache-Control": "no-store",
  "Referrer-Policy": "no-referrer",
  "X-Robots-Tag": "noindex",
};

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}
button{font:inherit;padding:.5rem 1.25rem;border:0;border-radius:.375rem;background:#1f5fbf;color:#fff;cursor:pointer}</style>
</head><body><h1>${title}</h1>${body}</body></html>`;

const invalid = (c: Context<AppEnv>) =>
  c.body(
    page("Link not valid", "<p>This unsubscribe link is not valid. Use the link from the email itself.</p>"),
    404,
    PAGE_HEADERS,
  );

const tags = ["Unsubscribe"];
/** The page is `text/html; charset=utf-8`; the document names the media type without its parameter. */
const htmlResponse = (description: string) => ({
  description,
  content: { "text/html": { schema: { type: "string" as const, examples: ["<!doctype html>…"] } } },
});

export function unsubscribeApi(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const db = deps.db.kysely;

  app.get(
    "/u/:token",
    describeRoute({
      tags,
      summary: "Unsubscribe page",
      operationId: "showUnsubscribePage",
      description: "Shown to a person who follows the List-Unsubscribe link: one button that sends the POST below.",
      responses: {
        200: htmlResponse("A page with one button that unsubscribes"),
        404: htmlResponse("The link is not genuine: a page saying so"),
      },
    }),
    (c) => {
      const claim = readUnsubscribeToken(deps.secrets, c.req.param("token"));
      if (!claim) return invalid(c);
      return c.body(
        page(
          "Unsubscribe",
          `<p>Stop sending email to <strong>${escapeHtml(claim.address)}</strong>?</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
        ),
        200,
        PAGE_HEADERS,
      );
    },
  );

  app.post(
    "/u/:token",
    describeRoute({
      tags,
      summary: "Unsubscribe (one-click)",
      operationId: "unsubscribe",
      description:
        "RFC 8058 one-click unsubscribe, as mailbox providers send it (`List-Unsubscribe=One-Click`); no API key: " +
        "the link is signed. The address joins the sender's suppression list with reason `unsubscribe`. " +
        "Repeating it is harmless.",
      responses: {
        200: htmlResponse("Unsubscribed: a page saying so"),
        404: htmlResponse("The link is not genuine: a page saying so"),
        413: {
          ...problemResponse(413),
          description: `The body is larger than ${MAX_BODY} bytes (\`payload_too_large\`).`,
        },
      },
    }),
    bodyLimit({
      maxSize: MAX_BODY,
      onError: () => {
        throw new PosthornError("payload_too_large", `An unsubscribe request carries at most ${MAX_BODY} bytes.`);
      },
    }),
    async (c) => {
      const claim = await unsubscribeByToken(db, deps.secrets, c.req.param("token"));
      if (!claim) return invalid(c);
      c.get("log").info("recipient unsubscribed", { tenant_id: claim.tenantId, email_id: claim.emailId });
      return c.body(
        page(
          "Unsubscribed",
          `<p><strong>${escapeHtml(claim.address)}</strong> will get no more email from this sender.</p>`,
        ),
        200,
        PAGE_HEADERS,
      );
    },
  );
  return app;
}
