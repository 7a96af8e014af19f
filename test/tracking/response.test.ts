// The tracking endpoints' answers: a pixel that is the same for every token, and a click that
// goes to the email's own URL or to one fixed 404 — never anything that tells a prober more.
import { describe, expect, it } from "bun:test";
import { parseSecretKey, SecretBox } from "../../src/crypto/secret-box";
import { newId } from "../../src/ids";
import {
  clickResponse,
  openPixelResponse,
  readClickToken,
  readOpenToken,
  signClickToken,
  signOpenToken,
  TRANSPARENT_GIF,
} from "../../src/tracking";

const box = new SecretBox(parseSecretKey("test", "11".repeat(32)));
const emailId = newId("em");

describe("the open pixel", () => {
  it("is a 43-byte transparent 1×1 GIF that no cache keeps", () => {
    const response = openPixelResponse();
    expect(response.status).toBe(200);
    expect(response.headers).toEqual({
      "Content-Type": "image/gif",
      "Content-Length": "43",
      "Cache-Control": "no-store, private",
    });
    const gif = Buffer.from(response.body as Uint8Array);
    expect(gif.length).toBe(43);
    expect(gif.subarray(0, 6).toString("latin1")).toBe("GIF89a");
    expect([gif.readUInt16LE(6), gif.readUInt16LE(8)]).toEqual([1, 1]);
    // Graphic control extension with the transparency flag, transparent colour 0; the image's one pixel is colour 0.
    expect(gif.subarray(19, 27)).toEqual(Buffer.from([0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00]));
    expect(gif[gif.length - 1]).toBe(0x3b);
  });

  it("is the same answer, byte for byte, for a genuine token and a forged one", () => {
    const genuine = signOpenToken(box, { emailId, recipient: 0 });
    const answer = (token: string) => {
      readOpenToken(box, token); // what the endpoint does with it cannot reach the answer
      return openPixelResponse();
    };
    expect(answer("forged")).toEqual(answer(genuine));
    expect(Buffer.from(answer(genuine).body as Uint8Array)).toEqual(Buffer.from(TRANSPARENT_GIF));
  });
});

describe("the click answer", () => {
  const follow = (token: string) => clickResponse(readClickToken(box, token)?.url);

  it("is a 302 to the exact original URL for a genuine token", () => {
    const url = "https://shop.example/p?a=1&b=2#top";
    const response = follow(signClickToken(box, { emailId, linkIndex: 0, url })!);
    expect(response).toEqual({
      status: 302,
      headers: { Location: url, "Cache-Control": "no-store, private" },
      body: "",
    });
  });

  it("sends a URL that is not a valid header value as the browser would have followed it", () => {
    const response = follow(signClickToken(box, { emailId, linkIndex: 0, url: "https://例え.jp/パス?q=a b" })!);
    expect(response.headers.Location).toBe("https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9?q=a%20b");
    const split = follow(
      signClickToken(box, { emailId, linkIndex: 0, url: "https://x.example/a\r\nSet-Cookie: a=b" })!,
    );
    expect(split.headers.Location).toBe("https://x.example/aSet-Cookie:%20a=b");
  });

  it("is one fixed html 404 page for a forged, truncated or missing token, echoing nothing", () => {
    const genuine = signClickToken(box, { emailId, linkIndex: 0, url: "https://shop.example/" })!;
    const answers = ["<script>alert(1)</script>", genuine.slice(0, -2), ""].map(follow);
    for (const answer of answers) {
      expect(answer.status).toBe(404);
      expect(answer.headers["Content-Type"]).toBe("text/html; charset=utf-8");
      expect(answer.headers.Location).toBeUndefined();
      expect(answer).toEqual(answers[0]!);
    }
    expect(answers[0]!.body).not.toContain("script");
  });

  it("never redirects to a URL that is not http(s), whatever it is handed", () => {
    expect(clickResponse("javascript:alert(1)").status).toBe(404);
    expect(clickResponse("not a url").status).toBe(404);
  });
});
