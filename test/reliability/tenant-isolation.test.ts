// Another tenant's ids, on every documented route that takes one: always 404, and the owner's
// things stay as they were. The routes come from /openapi.json, so a new route with an id is
// checked as soon as it is documented (and fails here until the table knows its kind of id).
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { newId } from "../../src/ids";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";

const PNG = Uint8Array.from([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6,
  0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
]);

/** A body that passes validation, so that only ownership decides the answer. */
const BODIES: Record<string, unknown> = {
  "PATCH /v1/smtp-accounts/{id}": { name: "renamed" },
  "PATCH /v1/templates/{id}": { subject: "changed" },
  "PATCH /v1/webhooks/{id}": { description: "changed" },
  "POST /v1/templates/{id}/render": { variables: {} },
  "POST /v1/webhooks/{id}/test": {},
};

interface Owned {
  email: string;
  account: string;
  template: string;
  webhook: string;
  batch: string;
  attachment: string;
  suppressed: string;
  inbound: string;
}

/** Which of the owner's ids goes into a route's parameters, by the resource the route is under. */
function pathFor(template: string, own: Owned): string | undefined {
  const byResource: Record<string, string> = {
    emails: own.email,
    "smtp-accounts": own.account,
    templates: own.template,
    webhooks: own.webhook,
    batches: own.batch,
    attachments: own.attachment,
    suppressions: encodeURIComponent(own.suppressed),
    inbound: own.inbound,
  };
  const resource = /^\/v1\/([^/]+)\//.exec(template)?.[1] ?? "";
  const id = byResource[resource];
  if (!id) return undefined;
  return template.replace(/\{(id|email)\}/, id).replace("{version}", "1");
}

describe(`another tenant's ids (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let owner: string;
  let other: string;
  let own: Owned;
  beforeAll(async () => {
    t = await createTestApp({ POSTHORN_WEBHOOK_ALLOW_PRIVATE: "true" });
    owner = (await t.createTenantWithKey("owner")).key;
    other = (await t.createTenantWithKey("other")).key;
    const create = async (path: string, json: unknown, key = owner) => {
      const res = await t.request("POST", path, { key, json });
      if (res.status >= 300) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as Record<string, unknown>;
    };
    const account = await create("/v1/smtp-accounts", {
      name: "a",
      host: "127.0.0.1",
      port: 1,
      security: "none",
      from_email: "sender@example.com",
      is_default: true,
    });
    const template = await create("/v1/templates", { name: "t", subject: "Hi", text: "Hello" });
    const webhook = await create("/v1/webhooks", { url: "http://127.0.0.1:1/hook" });
    // Scheduled, so that it stays cancellable and the batch stays pausable.
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const email = await create("/v1/emails", { to: ["a@example.org"], subject: "s", text: "t", scheduled_at: later });
    const batch = await create("/v1/emails/batch", {
      defaults: { subject: "s", text: "t", scheduled_at: later },
      emails: [{ to: ["b@example.org"] }],
    });
    await create("/v1/suppressions", { email: "gone@example.org" });
    const form = new FormData();
    form.append("files", new File([PNG], "a.png"));
    const upload = await t.request("POST", "/v1/attachments", { key: owner, body: form });
    const attachment = ((await upload.json()) as { data: { id: string }[] }).data[0]!.id;
    own = {
      email: String(email.id),
      account: String(account.id),
      template: String(template.id),
      webhook: String(webhook.id),
      batch: String((batch as { batch_id?: string; id?: string }).batch_id ?? batch.id),
      attachment,
      suppressed: "gone@example.org",
      inbound: newId("inb"),
    };
    // An inbound message of the owner's, as the inbound listener records one it could not match.
    await t.deps.db.kysely
      .insertInto("inbound_messages")
      .values({
        id: own.inbound,
        tenant_id: ((await (await t.request("GET", "/v1/me", { key: owner })).json()) as { tenant: { id: string } })
          .tenant.id,
        source: "smtp",
        received_at: Date.now(),
        envelope_from: "",
        envelope_to: JSON.stringify(["bounces+x@bounce.example.com"]),
        from_header: null,
        subject: "Undelivered Mail",
        message_id: null,
        kind: "unknown",
        matched: 0,
        email_id: null,
        outcome: "no email matches",
        size_bytes: 4,
        raw: new TextEncoder().encode("test"),
      })
      .execute();
    // The other tenant has things of its own, so that "not found" is not just "has nothing".
    await create("/v1/templates", { name: "mine", subject: "x", text: "y" }, other);
  });
  afterAll(() => t.close());

  /** The owner's view of everything it owns, to compare before and after. */
  const ownerView = async () => {
    const paths = [
      `/v1/emails/${own.email}`,
      `/v1/smtp-accounts/${own.account}`,
      `/v1/templates/${own.template}`,
      `/v1/webhooks/${own.webhook}`,
      `/v1/batches/${own.batch}`,
      `/v1/attachments/${own.attachment}`,
      `/v1/suppressions/${encodeURIComponent(own.suppressed)}`,
      `/v1/inbound/${own.inbound}`,
    ];
    const views: Record<string, unknown> = {};
    for (const p of paths) {
      const res = await t.request("GET", p, { key: owner });
      expect({ p, status: res.status }).toEqual({ p, status: 200 });
      const body = (await res.json()) as Record<string, unknown>;
      delete body.health; // live figures of the account may move on their own
      views[p] = body;
    }
    return views;
  };

  it("answers 404 on every route with an id, and changes nothing of the owner's", async () => {
    const doc = (await (await t.request("GET", "/openapi.json")).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith("/v1/") && path.includes("{") && !path.startsWith("/v1/tenants"))
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => ({ method: method.toUpperCase(), path })));
    expect(routes.length).toBeGreaterThan(25);

    const before = await ownerView();
    const answers: Record<string, number> = {};
    for (const { method, path } of routes) {
      const concrete = pathFor(path, own);
      if (!concrete) throw new Error(`no id for ${method} ${path}: add its resource to pathFor`);
      const res = await t.request(method, concrete, { key: other, json: BODIES[`${method} ${path}`] });
      answers[`${method} ${path}`] = res.status;
      if (res.status === 404) expect(((await res.json()) as { code: string }).code).toBe("not_found");
    }
    expect(Object.entries(answers).filter(([, status]) => status !== 404)).toEqual([]);
    expect(await ownerView()).toEqual(before);
  });

  it("lists none of the owner's things to the other tenant", async () => {
    for (const path of [
      "/v1/emails",
      "/v1/smtp-accounts",
      "/v1/templates",
      "/v1/webhooks",
      "/v1/batches",
      "/v1/attachments",
      "/v1/suppressions",
    ]) {
      const res = await t.request("GET", `${path}?limit=100`, { key: other });
      expect(res.status).toBe(200);
      const text = await res.text();
      for (const id of Object.values(own)) expect({ path, leaked: text.includes(id) }).toEqual({ path, leaked: false });
    }
  });
});
