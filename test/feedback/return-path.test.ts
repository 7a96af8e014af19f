// The signed per-message return path (VERP): what it looks like, that it reads back to the email
// and recipient it was made for, and that nothing else — forged, altered, truncated, signed with
// another key, oversized — ever reads as a claim.
import { describe, expect, it } from "bun:test";
import { parseSecretKey, SecretBox } from "../../src/crypto/secret-box";
import {
  MAX_RETURN_PATH_PREFIX,
  readReturnPath,
  recipientOfClaim,
  returnPathFor,
  returnPathProblem,
} from "../../src/feedback";
import { newId } from "../../src/ids";

const keyA = parseSecretKey("a", "11".repeat(32));
const keyB = parseSecretKey("b", "22".repeat(32));
const secrets = new SecretBox(keyA);
const emailId = newId("em");
const target = (recipient: { index: number } | { address: string }) => ({
  prefix: "bounces",
  bounceDomain: "bounce.example.com",
  emailId,
  recipient,
});
const localPart = (address: string) => address.slice(0, address.lastIndexOf("@"));

describe("returnPathFor", () => {
  it("makes <prefix>+<token>@<bounce domain> with a token of lower-case letters and digits only", () => {
    const address = returnPathFor(secrets, target({ index: 3 }));
    expect(address).toMatch(/^bounces\+[0-9a-z]+@bounce\.example\.com$/);
  });

  it("keeps the local part within 64 octets even with the longest prefix and an address recipient", () => {
    const prefix = "p".repeat(MAX_RETURN_PATH_PREFIX);
    const address = returnPathFor(secrets, { ...target({ address: "someone@example.org" }), prefix });
    expect(localPart(address).length).toBeLessThanOrEqual(64);
  });

  it("writes the bounce domain in its ASCII form", () => {
    const address = returnPathFor(secrets, { ...target({ index: 0 }), bounceDomain: "bounce.bücher.example" });
    expect(address.endsWith("@bounce.xn--bcher-kva.example")).toBe(true);
  });

  it("refuses a prefix that is too long, holds unsafe characters, or a bad domain or email id", () => {
    expect(returnPathProblem("p".repeat(MAX_RETURN_PATH_PREFIX + 1), "bounce.example.com")).toContain("at most");
    expect(returnPathProblem("Bounces+x", "bounce.example.com")).toContain("only lower-case");
    expect(returnPathProblem("bounces", "not a domain")).toContain("domain");
    expect(returnPathProblem("bounces", "bounce.example.com")).toBeUndefined();
    expect(() => returnPathFor(secrets, { ...target({ index: 0 }), emailId: "tpl_123" })).toThrow("not an email id");
    expect(() => returnPathFor(secrets, target({ index: -1 }))).toThrow("recipient index");
  });
});

describe("readReturnPath", () => {
  it("reads back the email id and recipient index it was made for", () => {
    for (const index of [0, 1, 31, 32, 999, 32767]) {
      expect(readReturnPath(secrets, returnPathFor(secrets, target({ index })))).toEqual({
        emailId,
        recipientIndex: index,
      });
    }
  });

  it("reads back a recipient given by address, matched among the email's recipients case-insensitively", () => {
    const claim = readReturnPath(secrets, returnPathFor(secrets, target({ address: "Ada@Example.org" })));
    expect(claim?.emailId).toBe(emailId);
    expect(recipientOfClaim(claim!, ["bob@example.org", "ada@example.org"])).toBe("ada@example.org");
    expect(recipientOfClaim(claim!, ["bob@example.org"])).toBeUndefined();
  });

  it("matches an index claim to the recipient at that position", () => {
    const claim = readReturnPath(secrets, returnPathFor(secrets, target({ index: 1 })));
    expect(recipientOfClaim(claim!, ["a@example.org", "b@example.org"])).toBe("b@example.org");
  });

  it("reads a token a relay upper-cased or lower-cased, since its alphabet has no case", () => {
    const address = returnPathFor(secrets, target({ index: 7 }));
    expect(readReturnPath(secrets, address.toUpperCase())).toEqual({ emailId, recipientIndex: 7 });
    expect(readReturnPath(secrets, address.toLowerCase())).toEqual({ emailId, recipientIndex: 7 });
  });

  it("refuses the token when any single character of it is changed", () => {
    const address = returnPathFor(secrets, target({ index: 2 }));
    const local = localPart(address);
    const start = local.indexOf("+") + 1;
    for (let i = start; i < local.length; i++) {
      const replacement = local[i] === "0" ? "1" : "0";
      const altered = `${local.slice(0, i)}${replacement}${address.slice(i + 1)}`;
      expect(readReturnPath(secrets, altered)).toBeUndefined();
    }
  });

  it("refuses a truncated or extended token", () => {
    const address = returnPathFor(secrets, target({ index: 2 }));
    const local = localPart(address);
    const domain = address.slice(local.length);
    expect(readReturnPath(secrets, `${local.slice(0, -1)}${domain}`)).toBeUndefined();
    expect(readReturnPath(secrets, `${local.slice(0, -5)}${domain}`)).toBeUndefined();
    expect(readReturnPath(secrets, `${local}0${domain}`)).toBeUndefined();
  });

  it("refuses a token made for another email or recipient with its signature moved over", () => {
    const one = localPart(returnPathFor(secrets, target({ index: 0 })));
    const other = localPart(returnPathFor(secrets, { ...target({ index: 1 }), emailId: newId("em") }));
    const forged = `${other.slice(0, -13)}${one.slice(-13)}@bounce.example.com`;
    expect(readReturnPath(secrets, forged)).toBeUndefined();
  });

  it("refuses a token signed with a key this server does not have", () => {
    const address = returnPathFor(new SecretBox(keyB), target({ index: 0 }));
    expect(readReturnPath(secrets, address)).toBeUndefined();
  });

  it("still reads tokens made before a key rotation (the old key configured as previous)", () => {
    const beforeRotation = returnPathFor(new SecretBox(keyA), target({ index: 4 }));
    const afterRotation = new SecretBox(keyB, [keyA]);
    expect(readReturnPath(afterRotation, beforeRotation)).toEqual({ emailId, recipientIndex: 4 });
    expect(readReturnPath(afterRotation, returnPathFor(afterRotation, target({ index: 5 })))).toEqual({
      emailId,
      recipientIndex: 5,
    });
  });

  it("answers undefined, never a throw, for addresses that are not return paths at all", () => {
    const inputs = [
      "",
      "@",
      "bounces@bounce.example.com",
      "+@bounce.example.com",
      "bounces+@bounce.example.com",
      "bounces+not-a-token@bounce.example.com",
      `bounces+${"0".repeat(48)}@bounce.example.com`,
      "bounces+\u0000\u00ff\ud800@bounce.example.com",
      `bounces+${"a".repeat(100_000)}@bounce.example.com`,
      "x".repeat(1_000_000),
    ];
    for (const input of inputs) expect(readReturnPath(secrets, input)).toBeUndefined();
    expect(readReturnPath(secrets, undefined as unknown as string)).toBeUndefined();
  });

  it("does not read a token with characters outside the alphabet (i, l, o, u are not in Crockford base32)", () => {
    const address = returnPathFor(secrets, target({ index: 0 }));
    const plus = address.indexOf("+");
    expect(readReturnPath(secrets, `${address.slice(0, plus + 2)}i${address.slice(plus + 3)}`)).toBeUndefined();
  });
});
