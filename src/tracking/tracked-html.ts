// The one call the composer makes: an email's html with its open pixel and click redirects, for
// one recipient (or for every recipient of one message). Pure: same input, same links.
import type { SecretBox } from "../crypto";
import { type RewrittenHtml, rewriteHtml, type TrackingTokenMakers } from "./rewrite";
import { type OpenClaim, signClickToken, signOpenToken } from "./token";

export interface TrackedHtmlInput {
  emailId: string;
  /** Index in the email's recipients or the address; leave it out when one message goes to several. */
  recipient?: number | string;
  html: string;
  trackOpens: boolean;
  trackClicks: boolean;
  /** Links that must keep working untracked (Posthorn's own unsubscribe link). */
  unsubscribeUrls?: Iterable<string>;
}

/** The html as sent: unchanged when neither opens nor clicks are tracked. */
export function trackedHtml(secrets: SecretBox, publicUrl: string, input: TrackedHtmlInput): string {
  return trackedHtmlWithLinks(secrets, publicUrl, input).html;
}

/** trackedHtml, with the tracked links by index and whether a pixel went in. */
export function trackedHtmlWithLinks(secrets: SecretBox, publicUrl: string, input: TrackedHtmlInput): RewrittenHtml {
  if (!input.trackOpens && !input.trackClicks) return { html: input.html, links: [], pixel: false };
  const claim: OpenClaim =
    input.recipient === undefined ? { emailId: input.emailId } : { emailId: input.emailId, recipient: input.recipient };
  return rewriteHtml(input.html, {
    publicUrl,
    tokens: trackingTokens(secrets, claim, { opens: input.trackOpens, clicks: input.trackClicks }),
    untrackedUrls: input.unsubscribeUrls,
  });
}

/**
 * The token makers rewriteHtml takes, sealed for one email (and recipient) under the secret key.
 * With `opens` (or `clicks`) false no pixel is added (no link is rewritten).
 */
export function trackingTokens(
  secrets: SecretBox,
  claim: OpenClaim,
  track: { opens: boolean; clicks: boolean },
): TrackingTokenMakers {
  return {
    open: track.opens ? () => signOpenToken(secrets, claim) : undefined,
    click: track.clicks ? (linkIndex, url) => signClickToken(secrets, { ...claim, linkIndex, url }) : undefined,
  };
}
