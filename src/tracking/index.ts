// Open and click tracking: sealed tokens, the html rewrite that puts them in, the verdict on
// machine hits and the endpoints' answers. The module's whole public surface; it holds no state
// and reads no config (the caller passes the secret box and the public URL).
import type { SecretBox } from "../crypto";
import type { TrackingTokenMakers } from "./rewrite";
import { type OpenClaim, signClickToken, signOpenToken } from "./token";

export {
  CLICK_BURST_MS,
  classifyHit,
  DELIVERY_SCAN_WINDOW_MS,
  type HitClass,
  type HitKind,
  type MachineReason,
  type TrackingHit,
} from "./machine";
export { clickResponse, openPixelResponse, TRANSPARENT_GIF, type TrackingResponse } from "./response";
export {
  CLICK_PATH,
  MAX_TRACKED_LINKS,
  NOTRACK_ATTRIBUTE,
  OPEN_PATH,
  type RewriteOptions,
  type RewrittenHtml,
  rewriteHtml,
  type TrackingTokenMakers,
} from "./rewrite";
export {
  type ClickClaim,
  isTrackableUrl,
  MAX_TOKEN_LENGTH,
  MAX_TRACKED_URL_BYTES,
  type OpenClaim,
  readClickToken,
  readOpenToken,
  signClickToken,
  signOpenToken,
} from "./token";

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
