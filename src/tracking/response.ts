// What the tracking endpoints answer, as plain values the HTTP layer mounts as they are. They
// carry no API key and must never reveal anything about an email: the pixel is the same bytes
// for every token, genuine or not, and a bad click link gets the same page whatever was wrong.
import { isTrackableUrl } from "./token";

export interface TrackingResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array | string;
}

/** A transparent 1×1 GIF89a: 2-colour table, a graphic control extension marking colour 0 transparent. */
export const TRANSPARENT_GIF = Uint8Array.from([
  0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
  0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
  0x02, 0x44, 0x01, 0x00, 0x3b,
]);

// Every open should reach us (a cached pixel is an open we never hear of); `private` keeps shared
// caches from storing it even where `no-store` is ignored.
const NO_STORE = "no-store, private";

/**
 * The open pixel. Takes no token and no verdict on purpose: whether the token was genuine cannot
 * change a byte of the answer (status, headers or body), so probing it teaches nothing.
 */
export function openPixelResponse(): TrackingResponse {
  return {
    status: 200,
    headers: {
      "Content-Type": "image/gif",
      "Content-Length": String(TRANSPARENT_GIF.length),
      "Cache-Control": NO_STORE,
    },
    body: TRANSPARENT_GIF,
  };
}

/**
 * A 302 to the link's original URL (from a genuine token, so only ever a URL the email held), or
 * for anything else a 404 with a short fixed page. 404 rather than a redirect to some home
 * page: there is no right place to send a stranger, and a redirect there would say the server
 * knew the link was bad in some particular way. A fixed page (a person followed the link, as on
 * the unsubscribe page): nothing of the request is echoed, so nothing can be injected. The same
 * 404 for a forged, truncated or retired token.
 */
export function clickResponse(url: string | undefined): TrackingResponse {
  if (url === undefined || !isTrackableUrl(url)) {
    return {
      status: 404,
      headers: {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": NO_STORE,
        "X-Content-Type-Options": "nosniff",
      },
      body: BROKEN_LINK,
    };
  }
  return { status: 302, headers: { Location: locationOf(url), "Cache-Control": NO_STORE }, body: "" };
}

const BROKEN_LINK = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Link not valid</title></head><body><h1>Link not valid</h1>
<p>This link is not valid. It may have been cut short or changed on its way; try opening it again from the email.</p>
</body></html>
`;

/**
 * The URL as it was when it is already a valid header value (visible ASCII); otherwise its
 * serialization (punycode host, percent-encoded path and query, tabs and newlines dropped) —
 * exactly where a browser following the href would have gone, and never a header injection.
 */
function locationOf(url: string): string {
  return /^[\x21-\x7e]+$/.test(url) ? url : new URL(url).href;
}
