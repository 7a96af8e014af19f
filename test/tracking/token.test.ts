// Tracking tokens: what an open or click link carries, sealed so it reveals nothing and cannot be
// forged — above all, a click token can only ever send a browser to the URL the email held.
import { describe, expect, it } from "bun:test";
import fc from "fast-check";
import { parseSecretKey, SecretBox } from "../../src/crypto/secret-box";
import { newId } from "../../src/ids";
import {
  MAX_TOKEN_LENGTH,
  MAX_TRACKED_URL_BYTES,
  readClickToken,
  readOpenToken,
  signClickToken,
  signOpenToken,
} from "../../src/tracking";

const box = new SecretBox(parseSecretKey("test", "11".repeat(32)));
const emailId = newId("em");
const URL_SAFE = /^[A-Za-z0-9_-]+$/;

const click = (url: string, linkIndex = 0) => signClickToken(box, { emailId, recipient: 0, linkIndex, url })!;

describe("tracking tokens", () => {
  it("read back the open claim they were made from, with a recipient index, an address or none", () => {
    for (const claim of [{ emailId, recipient: 3 }, { emailId, recipient: "ada@example.com" }, { emailId }]) {
      expect(readOpenToken(box, signOpenToken(box, claim))).toEqual(claim);
    }
  });

  it("read back the click claim with its exact URL", () => {
    const url = "https://shop.example/p?id=7&utm_source=mail#top";
    const token = signClickToken(box, { emailId, recipient: "ada@example.com", linkIndex: 12, url })!;
    expect(readClickToken(box, token)).toEqual({ emailId, recipient: "ada@example.com", linkIndex: 12, url });
  });

  it("carry any email id, not only the em_ ids they pack short", () => {
    const claim = { emailId: "legacy-id-42", recipient: 0 };
    expect(readOpenToken(box, signOpenToken(box, claim))).toEqual(claim);
  });

  it("are URL-safe, short for opens, and different every time for the same claim", () => {
    const a = signOpenToken(box, { emailId, recipient: 0 });
    const b = signOpenToken(box, { emailId, recipient: 0 });
    expect(a).toMatch(URL_SAFE);
    expect(a.length).toBe(68);
    expect(a).not.toBe(b);
    expect(click("https://example.com/")).toMatch(URL_SAFE);
  });

  it("reveal nothing of the email id, the address or the URL", () => {
    const token = signClickToken(box, {
      emailId,
      recipient: "ada@example.com",
      linkIndex: 0,
      url: "https://secret-shop.example/",
    })!;
    const bytes = Buffer.from(token, "base64url").toString("latin1");
    for (const part of [emailId, emailId.slice(3), "ada@example.com", "secret-shop"]) {
      expect(token).not.toContain(part);
      expect(bytes).not.toContain(part);
    }
  });

  it("are refused when any character is changed, or anything cut off or added", () => {
    const token = click("https://example.com/");
    for (let i = 0; i < token.length; i++) {
      const changed = token.slice(0, i) + (token[i] === "A" ? "B" : "A") + token.slice(i + 1);
      expect(readClickToken(box, changed)).toBeUndefined();
    }
    for (let length = 0; length < token.length; length++) {
      expect(readClickToken(box, token.slice(0, length))).toBeUndefined();
    }
    expect(readClickToken(box, `${token}A`)).toBeUndefined();
    expect(readClickToken(box, `${token}=`)).toBeUndefined();
    expect(readClickToken(box, ` ${token}`)).toBeUndefined();
  });

  it("cannot be turned into a redirect to another URL by flipping the ciphertext (no open redirect)", () => {
    const good = "https://good.example/";
    const evil = "https://evil.example/";
    const bytes = Buffer.from(click(good), "base64url");
    // The URL is the last plaintext bytes, just before the 16-byte tag: XOR the difference in.
    const at = bytes.length - 16 - good.length;
    for (let i = 0; i < good.length; i++) bytes[at + i]! ^= good.charCodeAt(i) ^ evil.charCodeAt(i);
    expect(readClickToken(box, bytes.toString("base64url"))).toBeUndefined();
  });

  it("of one kind are refused as the other", () => {
    expect(readClickToken(box, signOpenToken(box, { emailId, recipient: 0 }))).toBeUndefined();
    expect(readOpenToken(box, click("https://example.com/"))).toBeUndefined();
  });

  it("made by another server (another secret key) are refused", () => {
    const other = new SecretBox(parseSecretKey("other", "22".repeat(32)));
    expect(readOpenToken(box, signOpenToken(other, { emailId }))).toBeUndefined();
    expect(readClickToken(box, signClickToken(other, { emailId, linkIndex: 0, url: "https://x.example/" })!)).toBe(
      undefined,
    );
  });

  it("made before a key rotation still read under the new key with the old one kept as previous", () => {
    const oldKey = parseSecretKey("old", "33".repeat(32));
    const before = new SecretBox(oldKey);
    const after = new SecretBox(parseSecretKey("new", "44".repeat(32)), [oldKey]);
    const token = signClickToken(before, { emailId, linkIndex: 1, url: "https://example.com/a" })!;
    expect(readClickToken(after, token)?.url).toBe("https://example.com/a");
    expect(readOpenToken(after, signOpenToken(before, { emailId }))).toEqual({ emailId });
  });

  it("are not made for a URL that is not absolute http(s), or longer than the bound", () => {
    for (const url of [
      "mailto:ada@example.com",
      "javascript:alert(1)",
      "/relative",
      "ftp://x.example/",
      "",
      "http://",
    ]) {
      expect(signClickToken(box, { emailId, linkIndex: 0, url })).toBeUndefined();
    }
    const longest = `https://example.com/${"a".repeat(MAX_TRACKED_URL_BYTES - 20)}`;
    const token = signClickToken(box, { emailId, recipient: "a".repeat(300), linkIndex: 999_999, url: longest })!;
    expect(readClickToken(box, token)?.url).toBe(longest);
    expect(token.length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
    expect(signClickToken(box, { emailId, linkIndex: 0, url: `${longest}a` })).toBeUndefined();
  });

  it("keep a non-ASCII URL exactly as written", () => {
    const url = "https://例え.jp/パス?q=ä b";
    expect(readClickToken(box, click(url))?.url).toBe(url);
  });

  it("refuse to seal out-of-bounds indexes or ids, a caller's bug", () => {
    expect(() => signOpenToken(box, { emailId, recipient: -1 })).toThrow(RangeError);
    expect(() => signOpenToken(box, { emailId, recipient: 1.5 })).toThrow(RangeError);
    expect(() => signOpenToken(box, { emailId: "" })).toThrow(RangeError);
    expect(() => signOpenToken(box, { emailId: "x".repeat(65) })).toThrow(RangeError);
    expect(() => signClickToken(box, { emailId, linkIndex: 1_000_001, url: "https://x.example/" })).toThrow(RangeError);
  });

  it("refuse an overlong token before any work", () => {
    expect(readOpenToken(box, "A".repeat(MAX_TOKEN_LENGTH + 1))).toBeUndefined();
  });

  it("never throw on any input, and never accept one that was not made here", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (input) => {
        expect(readOpenToken(box, input)).toBeUndefined();
        expect(readClickToken(box, input)).toBeUndefined();
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (bytes) => {
        const token = Buffer.from(bytes).toString("base64url");
        expect(readOpenToken(box, token)).toBeUndefined();
        expect(readClickToken(box, token)).toBeUndefined();
      }),
    );
  });
});
