// The hostile-input suites' shared parts: generators of nasty values (fast-check), a way to put
// one anywhere in a valid body, and an app with one of everything to aim at, whose answers are
// checked the same way every time: never a 500, problem+json for a refusal, and a refusal stores
// nothing (every table keeps its row count).
import { expect } from "bun:test";
import fc from "fast-check";
import { createTestApp, type TestApp } from "./app";
import { TEST_ADMIN_KEY } from "./db";
import { rowCounts } from "./row-counts";

export const BODY_LIMIT_BYTES = 256 * 1024;
export const RUNS = 60;

export interface Endpoint {
  method: "POST" | "PATCH";
  path: string;
  body: Record<string, unknown>;
  admin?: boolean;
}

const LONE_SURROGATES = ["\ud800", "a\udc00b", "\udfff\ud800"];
const NASTY = [
  ...LONE_SURROGATES,
  "\u0000",
  "a\u0000b",
  "\u202eexe.pdf",
  "\u200b\u200d\ufeff",
  "e\u0301".repeat(40),
  "😀👩‍👩‍👧‍👦",
  "a\r\nBcc: victim@example.org",
  "x\nX-Injected: 1",
  "x\rY",
  "../../../../etc/passwd",
  "..\\..\\windows\\win.ini",
  "%2e%2e%2f%2e%2e%2f",
  "<script>alert(1)</script>",
  "{{constructor.constructor('return process')()}}",
  "__proto__",
  "' or 1=1 --",
  "",
  " ",
];

export const hostileString = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
  // Past the body limit now and then.
  fc.integer({ min: 1_000, max: 300_000 }).map((n) => "A".repeat(n)),
);
const deeplyNested = fc
  .integer({ min: 10, max: 3_000 })
  .map((depth) => JSON.parse(`${"[".repeat(depth)}${"]".repeat(depth)}`) as unknown);
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  deeplyNested,
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 53 + 1, 1e308, -1e308, [], {}),
  fc.dictionary(hostileString, hostileString, { maxKeys: 3 }),
);

export type Path = (string | number)[];

/** An id as a client would put it in a URL; a lone surrogate goes as the bytes a careless encoder makes (CESU-8). */
export function pathSegment(id: string): string {
  try {
    return encodeURIComponent(id);
  } catch {
    return [...id]
      .map((ch) => {
        const c = ch.charCodeAt(0);
        if (c < 0xd800 || c > 0xdfff) return encodeURIComponent(ch);
        return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]
          .map((b) => `%${b.toString(16).toUpperCase()}`)
          .join("");
      })
      .join("");
  }
}

/** Every place in a JSON value: its containers and its leaves. */
export function placesIn(value: unknown, at: Path = []): Path[] {
  const out: Path[] = at.length > 0 ? [at] : [];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...placesIn(v, [...at, i]));
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) out.push(...placesIn(v, [...at, k]));
  }
  return out;
}

export function withValueAt(body: unknown, path: Path, value: unknown): unknown {
  const copy = structuredClone(body) as Record<string | number, unknown>;
  let node: Record<string | number, unknown> = copy;
  for (const seg of path.slice(0, -1)) node = node[seg] as Record<string | number, unknown>;
  node[path.at(-1)!] = value;
  return copy;
}

export interface HostileApp {
  t: TestApp;
  key: string;
  /** Every endpoint that takes a JSON body, with a body it accepts. */
  endpoints: Endpoint[];
  /** Routes with an id ("{}" marks where it goes). */
  idPaths: { method: string; path: string }[];
  keyFor(e: { admin?: boolean; path: string }): string;
  /** Sends, then checks the answer is no 500 and a refusal changed no table. */
  expectHandled(
    call: () => Promise<Response>,
    what: string,
  ): Promise<{ status: number; body: Record<string, unknown> | undefined }>;
}

export async function startHostileApp(): Promise<HostileApp> {
  const t = await createTestApp({
    POSTHORN_BODY_LIMIT: `${BODY_LIMIT_BYTES}b`,
    POSTHORN_WEBHOOK_ALLOW_PRIVATE: "true", // no DNS lookups for generated host names
    POSTHORN_PUBLIC_URL: "https://mail.example.com",
  });
  const tenant = await t.createTenantWithKey("hostile");
  const key = tenant.key;
  const create = async (path: string, json: unknown) => {
    const res = await t.request("POST", path, { key, json });
    if (res.status >= 300) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  };
  const account = await create("/v1/smtp-accounts", {
    name: "a",
    host: "127.0.0.1",
    port: 1,
    security: "none",
    from_email: "sender@example.com",
  });
  const template = await create("/v1/templates", { name: "t", subject: "Hi {{name}}", text: "Hello {{name}}" });
  const webhook = await create("/v1/webhooks", { url: "http://127.0.0.1:1/hook" }); // refused at once if ever posted
  const email = await create("/v1/emails", { to: ["a@example.org"], subject: "s", text: "t" });
  const endpoints: Endpoint[] = [
    {
      method: "POST",
      path: "/v1/emails",
      body: {
        from: { email: "sender@example.com", name: "Sender" },
        to: [{ email: "ada@example.org", name: "Ada" }],
        cc: ["cc@example.org"],
        reply_to: "r@example.org",
        subject: "Hello",
        text: "t",
        html: "<p>h</p>",
        headers: { "X-Ref": "1" },
        tags: ["a"],
        metadata: { k: "v" },
        attachments: [{ filename: "a.txt", content: "aGVsbG8=" }],
        priority: 3,
      },
    },
    {
      method: "POST",
      path: "/v1/emails/batch",
      body: {
        defaults: { from: "sender@example.com", subject: "Hi {{name}}", text: "Hello" },
        emails: [{ to: ["b@example.org"], variables: { name: "B" }, metadata: { n: "1" } }],
      },
    },
    {
      method: "POST",
      path: "/v1/smtp-accounts",
      body: {
        name: "n",
        host: "smtp.example.com",
        port: 587,
        security: "starttls",
        username: "u",
        password: "p",
        from_email: "sender@example.com",
        from_name: "S",
        hourly_limit: 10,
        allowed_from_domains: ["example.com"],
      },
    },
    { method: "PATCH", path: `/v1/smtp-accounts/${account}`, body: { name: "n2", from_name: "S2", weight: 2 } },
    { method: "POST", path: "/v1/suppressions", body: { email: "x@example.org", reason: "manual" } },
    {
      method: "POST",
      path: "/v1/templates",
      body: { name: "t2", subject: "S {{a}}", html: "<b>{{a}}</b>", text: "x" },
    },
    { method: "PATCH", path: `/v1/templates/${template}`, body: { subject: "New {{name}}" } },
    { method: "POST", path: `/v1/templates/${template}/render`, body: { variables: { name: "x" }, strict: false } },
    { method: "POST", path: "/v1/webhooks", body: { url: "https://hooks.example.com/x", events: ["email.sent"] } },
    { method: "PATCH", path: `/v1/webhooks/${webhook}`, body: { description: "d", active: true } },
    { method: "POST", path: `/v1/webhooks/${webhook}/test`, body: { type: "email.sent" } },
    { method: "POST", path: "/v1/tenants", body: { name: "x" }, admin: true },
    {
      method: "POST",
      path: `/v1/tenants/${tenant.tenantId}/api-keys`,
      body: { name: "k", daily_limit: 5 },
      admin: true,
    },
  ];
  const idPaths: { method: string; path: string }[] = [
    { method: "GET", path: "/v1/emails/{}" },
    { method: "POST", path: "/v1/emails/{}/cancel" },
    { method: "GET", path: "/v1/smtp-accounts/{}" },
    { method: "DELETE", path: "/v1/smtp-accounts/{}" },
    { method: "POST", path: "/v1/smtp-accounts/{}/test" },
    { method: "GET", path: "/v1/suppressions/{}" },
    { method: "DELETE", path: "/v1/suppressions/{}" },
    { method: "GET", path: "/v1/templates/{}" },
    { method: "DELETE", path: "/v1/templates/{}" },
    { method: "GET", path: `/v1/templates/${template}/versions/{}` },
    { method: "GET", path: "/v1/webhooks/{}/deliveries" },
    { method: "POST", path: "/v1/webhooks/{}/rotate-secret" },
    { method: "GET", path: "/v1/batches/{}" },
    { method: "POST", path: "/v1/batches/{}/pause" },
    { method: "GET", path: "/v1/attachments/{}" },
    { method: "GET", path: "/v1/attachments/{}/content" },
    { method: "DELETE", path: "/v1/attachments/{}" },
    { method: "GET", path: "/v1/tenants/{}" },
    { method: "DELETE", path: `/v1/tenants/${tenant.tenantId}/api-keys/{}` },
    { method: "GET", path: "/u/{}" },
    { method: "POST", path: "/u/{}" },
  ];
  if (!email.startsWith("em_")) throw new Error(`no email created: ${email}`);

  const keyFor = (e: { admin?: boolean; path: string }) =>
    e.admin || e.path.startsWith("/v1/tenants") ? TEST_ADMIN_KEY : key;

  async function expectHandled(
    call: () => Promise<Response>,
    what: string,
  ): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
    const before = await rowCounts(t.temp);
    const res = await call();
    const text = await res.text();
    if (res.status >= 500) throw new Error(`${what} answered ${res.status}: ${text.slice(0, 500)}`);
    let body: Record<string, unknown> | undefined;
    if (res.status >= 400) {
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json|^text\/(html|plain)/);
      const after = await rowCounts(t.temp);
      if (JSON.stringify(after) !== JSON.stringify(before)) {
        throw new Error(`${what} was refused (${res.status}) but changed rows: ${JSON.stringify({ before, after })}`);
      }
      if (res.headers.get("content-type") === "application/problem+json") body = JSON.parse(text);
    }
    return { status: res.status, body };
  }

  return { t, key, endpoints, idPaths, keyFor, expectHandled };
}
