// trackedHtml, the one call the composer makes: the html as a recipient gets it, with the pixel
// and the click redirects sealed for that email and recipient, and nothing else changed.
import { describe, expect, it } from "bun:test";
import { parseSecretKey, SecretBox } from "../../src/crypto/secret-box";
import { newId } from "../../src/ids";
import { readClickToken, readOpenToken, trackedHtml, trackedHtmlWithLinks } from "../../src/tracking";

const BASE = "https://mail.example.test";
const secrets = new SecretBox(parseSecretKey("test", "11".repeat(32)));
const emailId = newId("em");
const HTML =
  '<html><body><p>Hi</p><a href="https://shop.example/o?a=1&amp;b=2">Order</a> ' +
  '<a href="mailto:help@example.com">Help</a> <a href="https://mail.example.test/u/abc">Unsubscribe</a></body></html>';

const hrefs = (html: string) => [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!.replaceAll("&amp;", "&"));
const pixelOf = (html: string) => /<img src="([^"]+)"/.exec(html)?.[1];

describe("trackedHtml", () => {
  it("leaves the html as it is when neither opens nor clicks are tracked", () => {
    expect(trackedHtml(secrets, BASE, { emailId, html: HTML, trackOpens: false, trackClicks: false })).toBe(HTML);
  });

  it("adds a pixel whose token names the email and the recipient, and leaves links alone with clicks off", () => {
    const html = trackedHtml(secrets, BASE, {
      emailId,
      recipient: 2,
      html: HTML,
      trackOpens: true,
      trackClicks: false,
    });
    const pixel = pixelOf(html)!;
    expect(pixel).toStartWith(`${BASE}/t/o/`);
    expect(readOpenToken(secrets, pixel.slice(`${BASE}/t/o/`.length))).toEqual({ emailId, recipient: 2 });
    expect(hrefs(html)).toEqual(hrefs(HTML));
  });

  it("sends http(s) links through the redirect carrying the exact URL, but not mailto: or the unsubscribe link", () => {
    const { html, links, pixel } = trackedHtmlWithLinks(secrets, BASE, {
      emailId,
      recipient: "ada@example.org",
      html: HTML,
      trackOpens: false,
      trackClicks: true,
      unsubscribeUrls: ["https://mail.example.test/u/abc"],
    });
    expect(pixel).toBe(false);
    expect(links).toEqual(["https://shop.example/o?a=1&b=2"]);
    const [order, help, unsubscribe] = hrefs(html);
    expect(order).toStartWith(`${BASE}/t/c/`);
    expect(readClickToken(secrets, order!.slice(`${BASE}/t/c/`.length))).toEqual({
      emailId,
      recipient: "ada@example.org",
      linkIndex: 0,
      url: "https://shop.example/o?a=1&b=2",
    });
    expect(help).toBe("mailto:help@example.com");
    expect(unsubscribe).toBe("https://mail.example.test/u/abc");
  });

  it("without a recipient, seals tokens for the whole message (one message to several)", () => {
    const html = trackedHtml(secrets, `${BASE}/`, { emailId, html: HTML, trackOpens: true, trackClicks: true });
    expect(readOpenToken(secrets, pixelOf(html)!.slice(`${BASE}/t/o/`.length))).toEqual({ emailId });
  });

  it("changes nothing when run again over its own output (a retried send)", () => {
    const input = { emailId, recipient: 0, trackOpens: true, trackClicks: true };
    const once = trackedHtml(secrets, BASE, { ...input, html: HTML });
    expect(trackedHtml(secrets, BASE, { ...input, html: once })).toBe(once);
  });
});
