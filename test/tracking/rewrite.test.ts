// The html rewrite: every http(s) link through the click redirect, one open pixel at the end of
// the body, everything else left as it was. Outputs are parsed back with HTMLRewriter and the
// hrefs decoded as a browser would, so the tests check what a reader's client will follow.
import { describe, expect, it } from "bun:test";
import { decodeHTMLAttribute } from "entities";
import fc from "fast-check";
import { parseSecretKey, SecretBox } from "../../src/crypto/secret-box";
import { newId } from "../../src/ids";
import {
  CLICK_PATH,
  clickResponse,
  MAX_TRACKED_LINKS,
  OPEN_PATH,
  readClickToken,
  readOpenToken,
  rewriteHtml,
  type TrackingTokenMakers,
  trackingTokens,
} from "../../src/tracking";

const BASE = "https://mail.example.test";
/** Readable stand-ins for sealed tokens: `c<index>` and `open`. */
const fakeTokens: TrackingTokenMakers = { open: () => "open", click: (index) => `c${index}` };
const rewrite = (html: string, extra: Partial<Parameters<typeof rewriteHtml>[1]> = {}) =>
  rewriteHtml(html, { publicUrl: BASE, tokens: fakeTokens, ...extra });

interface Parsed {
  hrefs: string[];
  images: Record<string, string>[];
  notrackLeft: number;
}

/** What a client sees in the html: each link's href (decoded) and each image's attributes. */
function parse(html: string): Parsed {
  const parsed: Parsed = { hrefs: [], images: [], notrackLeft: 0 };
  new HTMLRewriter()
    .on("a, area", {
      element(el) {
        const href = el.getAttribute("href");
        if (href !== null) parsed.hrefs.push(decodeHTMLAttribute(href));
        if (el.hasAttribute("data-posthorn-notrack")) parsed.notrackLeft++;
      },
    })
    .on("img", {
      element(el) {
        parsed.images.push(
          Object.fromEntries([...el.attributes].map(([name, value]) => [name, decodeHTMLAttribute(value)])),
        );
      },
    })
    .transform(html);
  return parsed;
}

describe("rewriteHtml", () => {
  it("sends every http(s) link of <a> and <area> through the click redirect and lists the originals", () => {
    const html = `<html><body>
      <a href="https://shop.example/sale">Sale</a>
      <map name="m"><area shape="rect" coords="0,0,10,10" href="http://maps.example/x"></map>
      <A HREF='https://shop.example/sale'>Again</A>
    </body></html>`;
    const out = rewrite(html);
    expect(parse(out.html).hrefs).toEqual([`${BASE}/t/c/c0`, `${BASE}/t/c/c1`, `${BASE}/t/c/c2`]);
    expect(out.links).toEqual(["https://shop.example/sale", "http://maps.example/x", "https://shop.example/sale"]);
    expect(CLICK_PATH).toBe("/t/c/");
  });

  it("leaves mailto:, tel:, sms:, anchors, relative and script links exactly as they were", () => {
    const links = [
      `<a href="mailto:ada@example.com">m</a>`,
      `<a href="tel:+15551234">t</a>`,
      `<a href="sms:+15551234">s</a>`,
      `<a href="#section-2">a</a>`,
      `<a href="/account">r</a>`,
      `<a href="page.html">r</a>`,
      `<a href="//cdn.example/x">p</a>`,
      `<a href="javascript:void(0)">j</a>`,
      `<a name="top">no href</a>`,
    ].join("");
    const out = rewrite(`<body>${links}</body>`, { tokens: { click: fakeTokens.click } });
    expect(out.html).toBe(`<body>${links}</body>`);
    expect(out.links).toEqual([]);
  });

  it("leaves links marked data-posthorn-notrack alone and removes the mark from the output", () => {
    const out = rewrite(
      `<body><a data-posthorn-notrack href="https://keep.example/">k</a><a href="mailto:x@example.com" data-posthorn-notrack="">m</a><a href="https://track.example/">t</a></body>`,
    );
    const parsed = parse(out.html);
    expect(parsed.hrefs).toEqual(["https://keep.example/", "mailto:x@example.com", `${BASE}/t/c/c0`]);
    expect(parsed.notrackLeft).toBe(0);
    expect(out.html).not.toContain("notrack");
    expect(out.links).toEqual(["https://track.example/"]);
  });

  it("leaves the unsubscribe link alone, however its href is spelled", () => {
    const unsubscribe = `${BASE}/u/tok123?a=1&b=2`;
    const out = rewrite(
      `<body><a href="${BASE}/u/tok123?a=1&amp;b=2">Unsubscribe</a><a href="HTTPS://MAIL.example.test/u/tok123?a=1&#38;b=2">again</a><a href="https://x.example/">x</a></body>`,
      { untrackedUrls: [unsubscribe] },
    );
    expect(parse(out.html).hrefs).toEqual([
      unsubscribe,
      "HTTPS://MAIL.example.test/u/tok123?a=1&b=2",
      `${BASE}/t/c/c0`,
    ]);
    expect(out.links).toEqual(["https://x.example/"]);
  });

  it("decodes entities in hrefs: the redirect returns & where the html said &amp;", () => {
    const box = new SecretBox(parseSecretKey("test", "11".repeat(32)));
    const tokens = trackingTokens(box, { emailId: newId("em"), recipient: 0 }, { opens: false, clicks: true });
    const html = `<body><a href="https://shop.example/p?a=1&amp;b=2&#38;c=&quot;3&quot;&copy=4">x</a></body>`;
    const out = rewriteHtml(html, { publicUrl: BASE, tokens });
    const original = 'https://shop.example/p?a=1&b=2&c="3"&copy=4';
    expect(out.links).toEqual([original]);

    const [href] = parse(out.html).hrefs;
    expect(href).toStartWith(`${BASE}${CLICK_PATH}`);
    const claim = readClickToken(box, href!.slice(`${BASE}${CLICK_PATH}`.length));
    expect(claim?.url).toBe(original);
    expect(clickResponse(claim?.url).headers.Location).toBe(original);
  });

  it("trims the whitespace a browser ignores around an href", () => {
    const out = rewrite(`<a href="\n  https://x.example/a  \t">x</a>`);
    expect(out.links).toEqual(["https://x.example/a"]);
  });

  it("is not fooled by link-like text, comments or scripts (a tokenizer, not a regex)", () => {
    const html = `<body><p>&lt;a href="https://text.example/"&gt;</p><!-- <a href="https://comment.example/">c</a> --><script>var s='<a href="https://script.example/">';</script><textarea><a href="https://textarea.example/"></textarea></body>`;
    const out = rewrite(html, { tokens: { click: fakeTokens.click } });
    expect(out.html).toBe(html);
    expect(out.links).toEqual([]);
  });

  it("puts one 1×1 open pixel just before </body>", () => {
    const out = rewrite(`<html><body><p>Hi</p></BODY></html>`);
    const pixelSrc = `${BASE}${OPEN_PATH}open`;
    expect(out.html).toStartWith(`<html><body><p>Hi</p><img src="${pixelSrc}"`);
    expect(out.html).toEndWith(`></BODY></html>`);
    expect(out.pixel).toBe(true);
    const [image] = parse(out.html).images;
    expect(image).toMatchObject({ src: pixelSrc, width: "1", height: "1", alt: "" });
    expect(image!.style).toContain("height:1px");
    expect(parse(out.html).images).toHaveLength(1);
  });

  it("appends the pixel to a fragment, and closes a body left open with it", () => {
    expect(rewrite(`<p>Just a fragment</p>`).html).toStartWith(`<p>Just a fragment</p><img src="${BASE}/t/o/open"`);
    const open = rewrite(`<html><body><p>left open</p></html>`);
    expect(parse(open.html).images).toHaveLength(1);
    expect(open.html).toStartWith(`<html><body><p>left open</p><img `);
    expect(open.html).toEndWith(`></html>`);
  });

  it("adds no pixel without an open token and rewrites no link without a click token", () => {
    const html = `<body><a href="https://x.example/">x</a></body>`;
    expect(rewrite(html, { tokens: {} })).toEqual({ html, links: [], pixel: false });
    const opensOnly = rewrite(html, { tokens: { open: fakeTokens.open } });
    expect(parse(opensOnly.html).hrefs).toEqual(["https://x.example/"]);
    expect(opensOnly.pixel).toBe(true);
  });

  it("seals real tokens that read back as this email's open and clicks", () => {
    const box = new SecretBox(parseSecretKey("test", "11".repeat(32)));
    const emailId = newId("em");
    const tokens = trackingTokens(box, { emailId, recipient: "ada@example.com" }, { opens: true, clicks: true });
    const out = rewriteHtml(`<body><a href="https://a.example/">a</a><a href="https://b.example/">b</a></body>`, {
      publicUrl: `${BASE}/`,
      tokens,
    });
    const parsed = parse(out.html);
    const tokenOf = (url: string, path: string) => url.slice(`${BASE}${path}`.length);
    expect(parsed.hrefs.map((href) => readClickToken(box, tokenOf(href, CLICK_PATH)))).toEqual([
      { emailId, recipient: "ada@example.com", linkIndex: 0, url: "https://a.example/" },
      { emailId, recipient: "ada@example.com", linkIndex: 1, url: "https://b.example/" },
    ]);
    expect(readOpenToken(box, tokenOf(parsed.images[0]!.src!, OPEN_PATH))).toEqual({
      emailId,
      recipient: "ada@example.com",
    });
  });

  it("leaves a link untracked, and its index unused, when no token can be made for it", () => {
    const out = rewrite(`<a href="https://long.example/">l</a><a href="https://b.example/">b</a>`, {
      tokens: { click: (index, url) => (url.includes("long") ? undefined : `c${index}`) },
    });
    expect(parse(out.html).hrefs).toEqual(["https://long.example/", `${BASE}/t/c/c0`]);
    expect(out.links).toEqual(["https://b.example/"]);
  });

  it(`rewrites at most ${MAX_TRACKED_LINKS} links (or maxLinks) and leaves the rest as they are`, () => {
    const many = Array.from({ length: MAX_TRACKED_LINKS + 2 }, (_, i) => `<a href="https://x.example/${i}">${i}</a>`);
    const out = rewrite(`<body>${many.join("")}</body>`, { tokens: { click: fakeTokens.click } });
    const hrefs = parse(out.html).hrefs;
    expect(out.links).toHaveLength(MAX_TRACKED_LINKS);
    expect(hrefs[MAX_TRACKED_LINKS - 1]).toBe(`${BASE}/t/c/c${MAX_TRACKED_LINKS - 1}`);
    expect(hrefs.slice(MAX_TRACKED_LINKS)).toEqual([
      `https://x.example/${MAX_TRACKED_LINKS}`,
      `https://x.example/${MAX_TRACKED_LINKS + 1}`,
    ]);
    expect(rewrite(many.join(""), { maxLinks: 2 }).links).toEqual(["https://x.example/0", "https://x.example/1"]);
  });

  it("changes nothing when run again over its own output (a retried send)", () => {
    const once = rewrite(`<html><body><a href="https://x.example/">x</a></body></html>`);
    const twice = rewrite(once.html);
    expect(twice).toEqual({ html: once.html, links: [], pixel: false });
  });

  it("keeps the rest of the document byte for byte, Outlook's conditional comments included", () => {
    const html = `<!DOCTYPE html><html><head><style>a{color:red}</style></head><body>
<!--[if mso]><v:roundrect href="https://button.example/">Buy</v:roundrect><![endif]-->
<p class="x" >Caf&eacute; &amp; more</p></body></html>`;
    const out = rewrite(html, { tokens: { click: fakeTokens.click } });
    expect(out.html).toBe(html);
  });

  it("writes the tracking URL safely even when the public URL holds & or quotes", () => {
    const out = rewriteHtml(`<a href="https://x.example/">x</a>`, {
      publicUrl: 'https://mail.example.test/base?a=1&b="2"',
      tokens: fakeTokens,
    });
    const parsed = parse(out.html);
    expect(parsed.hrefs).toEqual(['https://mail.example.test/base?a=1&b="2"/t/c/c0']);
    expect(parsed.images[0]!.src).toBe('https://mail.example.test/base?a=1&b="2"/t/o/open');
  });

  it("never throws on any input, however broken, and tracks only what it lists", () => {
    const piece = fc.constantFrom(
      "<a href=",
      '"https://x.example/?a=1&amp;b"',
      "'",
      ">",
      "</a>",
      "<area href=https://y.example/>",
      "<body>",
      "</body>",
      "<!--",
      "-->",
      "<script>",
      "&#x",
      "data-posthorn-notrack",
      " ",
      "\u0000",
      "é",
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(piece, fc.string({ maxLength: 8 })), { maxLength: 40 }), (pieces) => {
        const out = rewrite(pieces.join(""));
        const tracked = parse(out.html).hrefs.filter((href) => href.startsWith(`${BASE}${CLICK_PATH}`));
        expect(tracked.length).toBeLessThanOrEqual(out.links.length);
        for (const url of out.links) expect(url).toMatch(/^https?:/i);
      }),
    );
  });
});
