// List-Unsubscribe (RFC 2369) with one-click (RFC 8058), which Gmail and Yahoo require of bulk
// senders. `list_unsubscribe: true` points at Posthorn's own /u/{token}; a sender's own URI is
// used as given. The headers are decided when the email is accepted and sent with it as they are.
import * as v from "valibot";
import type { SecretBox } from "../crypto";
import { validationFailed } from "../errors";
import { signUnsubscribeToken } from "./token";

const MAX_URI = 2000;

export const ListUnsubscribeField = v.pipe(
  v.union(
    [
      v.boolean(),
      v.pipe(
        v.string(),
        v.maxLength(MAX_URI),
        v.regex(/^(https:\/\/|mailto:)[^\s<>]+$/i, "must be an https: or mailto: URI without spaces or <>"),
      ),
    ],
    "must be true, or your own https: or mailto: unsubscribe URI",
  ),
  v.description(
    "`true`: Posthorn adds `List-Unsubscribe` with an opaque signed link it serves itself, plus one-click " +
      "`List-Unsubscribe-Post` (RFC 8058); an unsubscribe puts that recipient on your suppression list. The link " +
      "names one recipient, so the email must have exactly one (to, cc and bcc together): send one email per " +
      "recipient (a batch does it in one request). Needs POSTHORN_PUBLIC_URL. Or your own `https:` URI (which " +
      "must accept the RFC 8058 POST) or `mailto:`, with any number of recipients.",
  ),
);

export type ListUnsubscribeOption = v.InferOutput<typeof ListUnsubscribeField>;

const ONE_CLICK = { "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" };

/** The headers an email asks for with `list_unsubscribe`; none when it does not ask. */
export function listUnsubscribeHeaders(
  option: ListUnsubscribeOption | undefined,
  ctx: { publicUrl: string | undefined; secrets: SecretBox; tenantId: string; emailId: string; recipients: string[] },
): Record<string, string> {
  if (option === undefined || option === false) return {};
  if (typeof option === "string") {
    return { "List-Unsubscribe": `<${option}>`, ...(/^https:/i.test(option) ? ONE_CLICK : {}) };
  }
  if (!ctx.publicUrl) {
    throw validationFailed(
      "list_unsubscribe",
      "Posthorn can serve unsubscribe links only when POSTHORN_PUBLIC_URL (the address the public reaches this " +
        "server at) is set; set it, or give your own https: or mailto: URI",
    );
  }
  // Every recipient gets the same message, so one link would let a cc'd recipient unsubscribe
  // someone else: Posthorn's own link is only for an email with one recipient.
  const distinct = new Set(ctx.recipients.map((a) => a.toLowerCase()));
  if (distinct.size !== 1) {
    throw validationFailed(
      "list_unsubscribe",
      `Posthorn's unsubscribe link names the one recipient who gets it, and this email has ${distinct.size} ` +
        "(to, cc and bcc together): send one email per recipient (a batch does it in one request), or give " +
        "your own https: or mailto: URI",
    );
  }
  const token = signUnsubscribeToken(ctx.secrets, {
    tenantId: ctx.tenantId,
    address: ctx.recipients[0]!,
    emailId: ctx.emailId,
  });
  return { "List-Unsubscribe": `<${ctx.publicUrl}/u/${token}>`, ...ONE_CLICK };
}

/** True when the caller's own headers already hold what `list_unsubscribe` would set. */
export const hasOwnListUnsubscribe = (headers: Record<string, string> | undefined) =>
  Object.keys(headers ?? {}).some((h) => /^list-unsubscribe(-post)?$/i.test(h));
