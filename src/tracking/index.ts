// Open and click tracking: sealed tokens, the html rewrite that puts them in, the verdict on
// machine hits and the endpoints' answers. The module's whole public surface; it holds no state
// and reads no config (the caller passes the secret box and the public URL).
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
export { type TrackedHtmlInput, trackedHtml, trackedHtmlWithLinks, trackingTokens } from "./tracked-html";
