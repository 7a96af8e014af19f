// Hostile URLs and uploads (fast-check): path ids with traversal, encodings, unicode and huge
// values on every route that takes one, hostile query strings on every list, multipart uploads
// with hostile file names and bytes. Never a 500; a refusal stores nothing; names come out clean.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import fc from "fast-check";
import { TEST_DIALECT } from "../helpers/db";
import { type HostileApp, hostileString, pathSegment, RUNS, startHostileApp } from "../helpers/hostile";

describe(`hostile URLs and uploads (${TEST_DIALECT})`, () => {
  let h: HostileApp;
  beforeAll(async () => {
    h = await startHostileApp();
  });
  afterAll(() => h.t.close());

  it("answers hostile path ids (traversal, encodings, unicode, huge) with 4xx, never a 500", async () => {
    const idArb = fc.oneof(
      hostileString.filter((s) => s.length < 5_000),
      fc.constantFrom("..", "%2e%2e", "..%2f..%2fetc%2fpasswd", "%00", "%ZZ", "em_../../x", "%F0%9F%98%80", "a%0d%0ab"),
    );
    await fc.assert(
      fc.asyncProperty(fc.nat(), idArb, async (i, id) => {
        const route = h.idPaths[i % h.idPaths.length]!;
        const path = route.path.replace("{}", /%[0-9A-Z]{2}/i.test(id) ? id : pathSegment(id));
        const r = await h.expectHandled(
          () => h.t.request(route.method, path, { key: h.keyFor(route) }),
          `${route.method} ${path.slice(0, 200)}`,
        );
        expect(r.status).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it("answers hostile query strings on every list with 200 or 4xx", async () => {
    const lists = [
      "/v1/emails",
      "/v1/smtp-accounts",
      "/v1/suppressions",
      "/v1/templates",
      "/v1/webhooks",
      "/v1/batches",
      "/v1/attachments",
      "/v1/stats",
      "/v1/queue",
      "/v1/tenants",
    ];
    const param = fc.constantFrom("limit", "cursor", "status", "tag", "since", "from", "to", "group_by", "q", "reason");
    const value = fc.oneof(
      hostileString.filter((s) => s.length < 2_000),
      fc.constantFrom("-1", "0", "1e309", "NaN", "9999999999999999999", "2024-13-45T99:99:99Z", "hour", "day"),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...lists),
        fc.array(fc.tuple(param, value), { maxLength: 4 }),
        async (path, pairs) => {
          const qs = new URLSearchParams(pairs).toString();
          await h.expectHandled(
            () => h.t.request("GET", `${path}?${qs}`, { key: h.keyFor({ path }) }),
            `GET ${path}?${qs.slice(0, 200)}`,
          );
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it("cleans hostile upload file names and never answers 500 to a multipart body", async () => {
    const PNG = Uint8Array.from([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8,
      6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
    ]);
    const bytes = fc.oneof(fc.constant(PNG), fc.uint8Array({ maxLength: 200 }));
    await fc.assert(
      fc.asyncProperty(
        hostileString.filter((s) => s.length < 5_000),
        bytes,
        async (name, content) => {
          const form = new FormData();
          form.append("files", new File([content], name));
          const r = await h.expectHandled(
            () => h.t.request("POST", "/v1/attachments", { key: h.key, body: form }),
            `upload ${JSON.stringify(name.slice(0, 80))}`,
          );
          if (r.status < 300) {
            const names = (
              (await (await h.t.request("GET", "/v1/attachments?limit=100", { key: h.key })).json()) as {
                data: { filename: string }[];
              }
            ).data.map((a) => a.filename);
            for (const n of names) {
              expect(n).not.toMatch(/[/\\\p{Cc}\p{Cf}]/u);
              expect(n).not.toMatch(/^\.\.?$/);
            }
          }
        },
      ),
      { numRuns: RUNS },
    );
    // Not multipart at all, or multipart without the files field.
    for (const body of ["not a form", "--x\r\n\r\n--x--"]) {
      await h.expectHandled(
        () =>
          h.t.request("POST", "/v1/attachments", {
            key: h.key,
            body,
            headers: { "Content-Type": "multipart/form-data; boundary=x" },
          }),
        "broken multipart",
      );
    }
  });
});
