// Turns an email's html part into its tracked form: each http(s) link goes through the click
// redirect and a 1×1 open pixel sits at the end of the body. Bun's HTMLRewriter (lol-html) does
// it in one streaming pass with a real HTML tokenizer, so quoting, case and odd markup never
// fool it the way a regex would. lol-html hands attribute values over raw, so hrefs are decoded
// here as the browser would (`&amp;` → `&`) before they are sealed, and encoded when written.
import { decodeHTMLAttribute } from "entities";

/** Paths of the tracking endpoints under the public URL; the lead mounts them there. */
export const OPEN_PATH = "/t/o/";
export const CLICK_PATH = "/t/c/";
/** Links past this many are left as they are (the html's size is bounded by the caller). */
export const MAX_TRACKED_LINKS = 1000;
/** On a link: leave it untracked. Removed from the output either way. */
export const NOTRACK_ATTRIBUTE = "data-posthorn-notrack";

/** Makes the tokens of one email (and recipient); src/tracking/index.ts binds them to the secret key. */
export interface TrackingTokenMakers {
  /** The open pixel's token; without it no pixel is added. */
  open?: () => string;
  /** A link's token; undefined leaves that link untracked. Without it no link is rewritten. */
  click?: (linkIndex: number, url: string) => string | undefined;
}

export interface RewriteOptions {
  /** POSTHORN_PUBLIC_URL, e.g. `https://mail.example.com` (a trailing slash is ignored). */
  publicUrl: string;
  tokens: TrackingTokenMakers;
  /** Links never tracked, e.g. the unsubscribe link: compared after decoding, as URLs. */
  untrackedUrls?: Iterable<string>;
  maxLinks?: number;
}

export interface RewrittenHtml {
  html: string;
  /** The original URL of each tracked link, by link index. */
  links: string[];
  /** Whether an open pixel was added (false without an open token or when the html already had ours). */
  pixel: boolean;
}

export function rewriteHtml(html: string, options: RewriteOptions): RewrittenHtml {
  const base = options.publicUrl.replace(/\/+$/, "");
  const clickPrefix = `${base}${CLICK_PATH}`;
  const openPrefix = `${base}${OPEN_PATH}`;
  const maxLinks = options.maxLinks ?? MAX_TRACKED_LINKS;
  const untracked = new Set([...(options.untrackedUrls ?? [])].map(comparable));
  const { open, click } = options.tokens;
  const links: string[] = [];
  // Html that went through here already (a retried send) keeps its links and gets no second pixel.
  let hasPixel = false;
  let pixelPlaced = false;
  const pixel = () => {
    if (!open || hasPixel || pixelPlaced) return undefined;
    pixelPlaced = true;
    return pixelHtml(`${openPrefix}${open()}`);
  };

  const rewriter = new HTMLRewriter()
    .on("a, area", {
      element(link) {
        const marked = link.hasAttribute(NOTRACK_ATTRIBUTE);
        if (marked) link.removeAttribute(NOTRACK_ATTRIBUTE);
        const href = link.getAttribute("href");
        if (marked || href === null || !click || links.length >= maxLinks) return;
        const url = decodeHTMLAttribute(href).replace(ASCII_WHITESPACE_AT_ENDS, "");
        if (!isHttpUrl(url) || url.startsWith(clickPrefix) || untracked.has(comparable(url))) return;
        const token = click(links.length, url);
        if (token === undefined) return;
        links.push(url);
        link.setAttribute("href", encodeAttribute(`${clickPrefix}${token}`));
      },
    })
    .on("img[src]", {
      element(img) {
        if (decodeHTMLAttribute(img.getAttribute("src") ?? "").startsWith(openPrefix)) hasPixel = true;
      },
    })
    .on("body", {
      element(body) {
        body.onEndTag((end) => {
          const tag = pixel();
          if (tag) end.before(tag, { html: true });
        });
      },
    })
    .onDocument({
      end(end) {
        // No </body> (a fragment, or a body left open): the pixel goes last, where a parser puts it in the body.
        const tag = pixel();
        if (tag) end.append(tag, { html: true });
      },
    });
  return { html: rewriter.transform(html), links, pixel: pixelPlaced };
}

/** HTML's "strip leading and trailing ASCII whitespace", as browsers do to an href. */
const ASCII_WHITESPACE_AT_ENDS = /^[\t\n\f\r ]+|[\t\n\f\r ]+$/g;

function isHttpUrl(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const { protocol } = new URL(url);
  return protocol === "http:" || protocol === "https:";
}

/** The form two spellings of one URL share (`HTTPS://Example.com` and `https://example.com/`). */
function comparable(url: string): string {
  const trimmed = url.replace(ASCII_WHITESPACE_AT_ENDS, "");
  return URL.canParse(trimmed) ? new URL(trimmed).href : trimmed;
}

/** Entity-encodes what an attribute value may not hold as is (lol-html writes the value verbatim, only escaping `"`). */
const encodeAttribute = (value: string) => value.replaceAll("&", "&amp;").replaceAll('"', "&quot;");

// display:block keeps the image from adding a line box under the content; border 0 for old clients.
const PIXEL_STYLE = "display:block;width:1px;height:1px;border:0;margin:0;padding:0";

const pixelHtml = (src: string) =>
  `<img src="${encodeAttribute(src)}" width="1" height="1" alt="" style="${PIXEL_STYLE}">`;
