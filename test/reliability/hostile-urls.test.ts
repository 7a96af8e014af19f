// Hostile URLs and uploads (fast-check): path ids with traversal, encodings, unicode and huge
// values on every route that takes one, hostile query strings on every list, multipart uploads
// with hostile file names and bytes, and every form of address as a webhook URL's host or an SMTP
// account's host. Never a 500; a refusal stores nothing; names come out clean.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import fc from "fast-check";
import { isBlockedAddress } from "../../src/net";
import { createTestApp, type TestApp } from "../helpers/app";
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

describe(`hostile addresses as webhook and SMTP hosts, private networks refused (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let key: string;
  beforeAll(async () => {
    t = await createTestApp({ POSTHORN_SMTP_ALLOW_PRIVATE: "false" });
    ({ key } = await t.createTenantWithKey());
  });
  afterAll(() => t.close());

  /** Address literals only: nothing is resolved over the network and nothing is dialled. */
  const nearSpecial = fc
    .tuple(
      fc.constantFrom("127.", "10.", "169.254.", "100.64.", "192.168.", "172.16.", "0.", "224.", "198.18."),
      fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 3, maxLength: 3 }),
    )
    .map(([prefix, rest]) => (prefix + rest.join(".")).split(".").slice(0, 4).join("."));
  const v6Special = fc
    .tuple(
      fc.constantFrom("::", "::ffff:", "::ffff:0:", "64:ff9b::", "64:ff9b:1::", "2002:", "2001:db8::", "fe80::", "fd"),
      fc.ipV4(),
    )
    .map(([prefix, v4]) => (prefix.endsWith(":") ? prefix + v4 : `${prefix}00::1`));

  it("takes a webhook URL exactly when its host's address is allowed, in any spelling (hex, octal, IPv6 forms)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.ipV4Extended(), nearSpecial, fc.ipV6(), v6Special), async (ip) => {
        const url = `http://${ip.includes(":") ? `[${ip}]` : ip}:8080/hook`;
        const res = await t.request("POST", "/v1/webhooks", { key, json: { url } });
        // What the guard sees: the host as the URL parser writes it (some IPv6 spellings it refuses).
        const canonical = URL.canParse(url) ? new URL(url).hostname.replace(/^\[|\]$/g, "") : undefined;
        if (canonical === undefined || isBlockedAddress(canonical)) {
          expect([url, res.status]).toEqual([url, 422]);
          expect(((await res.json()) as { field: string }).field).toBe("url");
        } else {
          expect([url, res.status]).toEqual([url, 201]);
          const { id } = (await res.json()) as { id: string };
          expect((await t.request("DELETE", `/v1/webhooks/${id}`, { key })).status).toBe(204);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it("takes an SMTP host exactly when its address is allowed, and stores nothing it refuses", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.ipV4(), nearSpecial, fc.ipV6(), v6Special), async (host) => {
        const res = await t.request("POST", "/v1/smtp-accounts", {
          key,
          json: { name: "relay", host, port: 587, from_email: "news@example.com" },
        });
        if (isBlockedAddress(host)) {
          expect([host, res.status]).toEqual([host, 422]);
          expect(((await res.json()) as { field: string }).field).toBe("host");
        } else {
          expect([host, res.status]).toEqual([host, 201]);
          const { id } = (await res.json()) as { id: string };
          expect((await t.request("DELETE", `/v1/smtp-accounts/${id}`, { key })).status).toBe(204);
        }
      }),
      { numRuns: RUNS * 2 },
    );
    const left = (await (await t.request("GET", "/v1/smtp-accounts", { key })).json()) as { data: unknown[] };
    expect(left.data).toEqual([]);
  });

  it("refuses the shorthand spellings of loopback as an SMTP host", async () => {
    for (const host of ["0x7f.1", "0177.0.0.1", "2130706433", "127.1"]) {
      const res = await t.request("POST", "/v1/smtp-accounts", {
        key,
        json: { name: "relay", host, port: 587, from_email: "news@example.com" },
      });
      expect([host, res.status]).toEqual([host, 422]);
    }
  });
});
