// Hostile request bodies on every endpoint that takes one (fast-check): any JSON value,
// malformed JSON, a hostile value in any field of a valid body (huge strings, deep nesting, lone
// surrogates, RTL overrides, NUL, CR/LF, path traversal), CR/LF in every header-ish field of an
// email, wrong content types, oversized bodies. Never a 500; a refusal stores nothing.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import fc from "fast-check";
import { TEST_DIALECT } from "../helpers/db";
import {
  BODY_LIMIT_BYTES,
  type HostileApp,
  hostileValue,
  type Path,
  placesIn,
  RUNS,
  startHostileApp,
  withValueAt,
} from "../helpers/hostile";

describe(`hostile bodies (${TEST_DIALECT})`, () => {
  let h: HostileApp;
  beforeAll(async () => {
    h = await startHostileApp();
  });
  afterAll(() => h.t.close());

  it("answers any JSON value as a body without a 500, storing nothing when it refuses", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.jsonValue(), async (i, value) => {
        const e = h.endpoints[i % h.endpoints.length]!;
        await h.expectHandled(
          () => h.t.request(e.method, e.path, { key: h.keyFor(e), json: value }),
          `${e.method} ${e.path} ${JSON.stringify(value).slice(0, 200)}`,
        );
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it("answers malformed JSON with 400 malformed_json", async () => {
    const malformed = fc.oneof(
      fc.string().filter((s) => {
        try {
          JSON.parse(s);
          return false;
        } catch {
          return true;
        }
      }),
      fc.constantFrom("{", '{"to": [', "[1,]", '{"a":1}}', "\u0000", "{'single': 1}", `${"[".repeat(200_000)}`),
    );
    await fc.assert(
      fc.asyncProperty(fc.nat(), malformed, async (i, text) => {
        const e = h.endpoints[i % h.endpoints.length]!;
        const r = await h.expectHandled(
          () =>
            h.t.request(e.method, e.path, {
              key: h.keyFor(e),
              body: text,
              headers: { "Content-Type": "application/json" },
            }),
          `${e.method} ${e.path} ${JSON.stringify(text.slice(0, 100))}`,
        );
        expect([400, 413]).toContain(r.status);
      }),
      { numRuns: RUNS },
    );
  });

  it("survives a hostile value in any field of a valid body: huge, nested, unicode edge cases, CR/LF, traversal", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), hostileValue, async (i, j, value) => {
        const e = h.endpoints[i % h.endpoints.length]!;
        const places = placesIn(e.body);
        const place = places[j % places.length]!;
        const body = withValueAt(e.body, place, value);
        await h.expectHandled(
          () => h.t.request(e.method, e.path, { key: h.keyFor(e), json: body }),
          `${e.method} ${e.path} ${place.join(".")}=${JSON.stringify(value)?.slice(0, 120)}`,
        );
      }),
      { numRuns: RUNS * 4 },
    );
  });

  it("refuses CR or LF in every header-ish field of an email with 422 naming it", async () => {
    const fields: [Path, string][] = [
      [["subject"], "subject"],
      [["from", "name"], "from"],
      [["from", "email"], "from"],
      [["to", 0, "name"], "to[0]"],
      [["to", 0, "email"], "to[0]"],
      [["cc", 0], "cc[0]"],
      [["reply_to"], "reply_to"],
      [["headers", "X-Ref"], "headers"],
      [["attachments", 0, "filename"], "attachments[0]"],
    ];
    const email = h.endpoints[0]!;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...fields),
        // Text on both sides: a line break at either end is trimmed away with the blanks.
        fc.stringMatching(/^[A-Za-z0-9 .@]{0,8}[A-Za-z0-9]$/),
        fc.constantFrom("\r\n", "\n", "\r", "\r\n\r\n"),
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 .:@]{0,8}$/),
        async ([place, field], head, eol, tail) => {
          const r = await h.expectHandled(
            () =>
              h.t.request("POST", "/v1/emails", {
                key: h.key,
                json: withValueAt(email.body, place, `${head}${eol}${tail}`),
              }),
            `CR/LF in ${place.join(".")}`,
          );
          expect(r.status).toBe(422);
          expect(String(r.body?.field)).toStartWith(field);
        },
      ),
      { numRuns: RUNS },
    );
    // A header name that carries a line break, or a colon, is refused too.
    const res = await h.t.request("POST", "/v1/emails", {
      key: h.key,
      json: { ...email.body, headers: { "X-A\r\nBcc: v@example.org": "1" } },
    });
    expect(res.status).toBe(422);
  });

  it("answers any content type other than JSON with 415, and an oversized body with 413", async () => {
    const notJson = fc
      .oneof(
        fc.constantFrom("text/plain", "application/x-www-form-urlencoded", "application/xml", "text/json", "", "json"),
        // What a client can send in a header: visible ASCII and spaces.
        fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 }),
      )
      .filter((ct) => !/^application\/([\w.-]+\+)?json\s*(;|$)/i.test(ct) && !/^multipart\/form-data/i.test(ct));
    await fc.assert(
      fc.asyncProperty(fc.nat(), notJson, async (i, contentType) => {
        const e = h.endpoints[i % h.endpoints.length]!;
        const r = await h.expectHandled(
          () =>
            h.t.request(e.method, e.path, {
              key: h.keyFor(e),
              body: JSON.stringify(e.body),
              headers: { "Content-Type": contentType },
            }),
          `${e.method} ${e.path} as ${JSON.stringify(contentType)}`,
        );
        expect(r.status).toBe(415);
      }),
      { numRuns: RUNS },
    );
    for (const e of h.endpoints) {
      const r = await h.expectHandled(
        () =>
          h.t.request(e.method, e.path, { key: h.keyFor(e), json: { ...e.body, pad: "x".repeat(BODY_LIMIT_BYTES) } }),
        `${e.method} ${e.path} oversized`,
      );
      expect(r.status).toBe(413);
    }
  });
});
