// Webhook endpoints through the API: the secret shown once, events filter, tenant isolation,
// validation, the test send, the delivery log, secret rotation, and SSRF refusal.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Webhook } from "standardwebhooks";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { startWebhookReceiver, type WebhookReceiver } from "../helpers/webhook-receiver";

type WebhookView = { id: string; url: string; events: string[]; active: boolean; secret?: string };

async function createWebhook(t: TestApp, key: string, json: Record<string, unknown>) {
  const res = await t.request("POST", "/v1/webhooks", { key, json });
  if (res.status !== 201) throw new Error(`creating a webhook answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as WebhookView & { secret: string };
}

describe(`webhook endpoints (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    t = await createTestApp({ POSTHORN_WEBHOOK_ALLOW_PRIVATE: "true", POSTHORN_WEBHOOK_TIMEOUT: "2s" });
    receiver = startWebhookReceiver();
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  it("shows the whsec_ secret once, at creation, and defaults to every event", async () => {
    const { key } = await t.createTenantWithKey();
    const created = await createWebhook(t, key, { url: receiver.url, description: "orders" });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(created.secret.slice(6), "base64")).toHaveLength(32);
    expect(created.events).toEqual([
      "email.queued",
      "email.sent",
      "email.deferred",
      "email.failed",
      "email.suppressed",
      "email.cancelled",
      "email.bounced",
      "email.complained",
      "email.delivery_delayed",
      "email.delivered",
    ]);
    const read = (await (await t.request("GET", `/v1/webhooks/${created.id}`, { key })).json()) as WebhookView;
    expect(read.secret).toBeUndefined();
    expect(read.active).toBe(true);
    const list = (await (await t.request("GET", "/v1/webhooks", { key })).json()) as { data: WebhookView[] };
    expect(list.data.map((w) => w.id)).toEqual([created.id]);
    expect(JSON.stringify(list)).not.toContain(created.secret);
  });

  it("changes and deletes an endpoint", async () => {
    const { key } = await t.createTenantWithKey();
    const created = await createWebhook(t, key, { url: receiver.url });
    const patched = await t.request("PATCH", `/v1/webhooks/${created.id}`, {
      key,
      json: { events: ["email.failed"], active: false },
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ events: ["email.failed"], active: false });
    expect((await t.request("DELETE", `/v1/webhooks/${created.id}`, { key })).status).toBe(204);
    expect((await t.request("GET", `/v1/webhooks/${created.id}`, { key })).status).toBe(404);
  });

  it("answers 404 for another tenant's endpoint, whatever the route", async () => {
    const owner = await t.createTenantWithKey();
    const other = await t.createTenantWithKey();
    const { id } = await createWebhook(t, owner.key, { url: receiver.url });
    const key = other.key;
    expect((await t.request("GET", `/v1/webhooks/${id}`, { key })).status).toBe(404);
    expect((await t.request("PATCH", `/v1/webhooks/${id}`, { key, json: { active: false } })).status).toBe(404);
    expect((await t.request("DELETE", `/v1/webhooks/${id}`, { key })).status).toBe(404);
    expect((await t.request("GET", `/v1/webhooks/${id}/deliveries`, { key })).status).toBe(404);
    expect((await t.request("POST", `/v1/webhooks/${id}/test`, { key })).status).toBe(404);
    expect((await t.request("POST", `/v1/webhooks/${id}/rotate-secret`, { key })).status).toBe(404);
    const list = (await (await t.request("GET", "/v1/webhooks", { key })).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
    expect((await t.request("GET", `/v1/webhooks/${id}`, { key: owner.key })).status).toBe(200);
  });

  it("refuses a URL that is not http(s) and an unknown event, naming the field", async () => {
    const { key } = await t.createTenantWithKey();
    const bad = await t.request("POST", "/v1/webhooks", { key, json: { url: "ftp://example.com/x" } });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { field: string }).field).toBe("url");
    const event = await t.request("POST", "/v1/webhooks", {
      key,
      json: { url: receiver.url, events: ["email.opened"] },
    });
    expect(event.status).toBe(422);
    expect(((await event.json()) as { field: string }).field).toBe("events[0]");
    const empty = await t.request("PATCH", "/v1/webhooks/wh_00000000000000000000000000", { key, json: {} });
    expect(empty.status).toBe(422);
  });

  it("sends a signed sample event at once and answers with the receiver's reply", async () => {
    const { key } = await t.createTenantWithKey();
    const created = await createWebhook(t, key, { url: receiver.url, active: false });
    const before = receiver.received.length;
    const res = await t.request("POST", `/v1/webhooks/${created.id}/test`, { key, json: { type: "email.failed" } });
    expect(res.status).toBe(200);
    const result = (await res.json()) as { success: boolean; status_code: number; delivery_id: string };
    expect(result).toMatchObject({ success: true, status_code: 200 });
    const got = receiver.received[before]!;
    expect(got.json.type).toBe("email.failed");
    expect(got.headers["webhook-id"]).toBe(result.delivery_id);
    new Webhook(created.secret).verify(got.body, got.headers);

    receiver.respond(() => 503);
    const failing = (await (await t.request("POST", `/v1/webhooks/${created.id}/test`, { key })).json()) as {
      success: boolean;
      status_code: number;
    };
    receiver.respond(() => 200);
    expect(failing).toMatchObject({ success: false, status_code: 503 });

    const log = (await (await t.request("GET", `/v1/webhooks/${created.id}/deliveries`, { key })).json()) as {
      data: { status: string; event_type: string; attempts: { status_code: number }[] }[];
    };
    expect(log.data.map((d) => [d.event_type, d.status, d.attempts.map((a) => a.status_code)])).toEqual([
      ["email.sent", "failed", [503]],
      ["email.failed", "succeeded", [200]],
    ]);
  });

  it("answers a test send whose body is not JSON with 400 malformed_json, and an unknown event with 422", async () => {
    const { key } = await t.createTenantWithKey();
    const { id } = await createWebhook(t, key, { url: receiver.url });
    const before = receiver.received.length;
    const malformed = await t.request("POST", `/v1/webhooks/${id}/test`, {
      key,
      body: "{not json",
      headers: { "Content-Type": "application/json" },
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ code: "malformed_json" });
    const unknown = await t.request("POST", `/v1/webhooks/${id}/test`, { key, json: { type: "email.opened" } });
    expect(unknown.status).toBe(422);
    expect(await unknown.json()).toMatchObject({ code: "validation_failed", field: "type" });
    expect(receiver.received.length).toBe(before);
  });

  it("sends an email.deferred sample about a queued email, as a real deferral is", async () => {
    const { key } = await t.createTenantWithKey();
    const { id } = await createWebhook(t, key, { url: receiver.url });
    const before = receiver.received.length;
    expect((await t.request("POST", `/v1/webhooks/${id}/test`, { key, json: { type: "email.deferred" } })).status).toBe(
      200,
    );
    expect(receiver.received[before]!.json).toMatchObject({ type: "email.deferred", data: { status: "queued" } });
    const log = (await (await t.request("GET", `/v1/webhooks/${id}/deliveries`, { key })).json()) as {
      data: { payload: { data: { status: string } } }[];
    };
    expect(log.data[0]!.payload.data.status).toBe("queued");
  });

  it("pages the delivery log with a cursor", async () => {
    const { key } = await t.createTenantWithKey();
    const { id } = await createWebhook(t, key, { url: receiver.url });
    for (let i = 0; i < 5; i++) await t.request("POST", `/v1/webhooks/${id}/test`, { key });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : "";
      const page = (await (await t.request("GET", `/v1/webhooks/${id}/deliveries?limit=2${q}`, { key })).json()) as {
        data: { id: string }[];
        next_cursor: string | null;
      };
      seen.push(...page.data.map((d) => d.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    expect([...seen].sort().reverse()).toEqual(seen);
  });

  it("signs with both secrets for a while after a rotation", async () => {
    const { key } = await t.createTenantWithKey();
    const created = await createWebhook(t, key, { url: receiver.url });
    const rotated = (await (await t.request("POST", `/v1/webhooks/${created.id}/rotate-secret`, { key })).json()) as {
      secret: string;
    };
    expect(rotated.secret).not.toBe(created.secret);
    const before = receiver.received.length;
    await t.request("POST", `/v1/webhooks/${created.id}/test`, { key });
    const got = receiver.received[before]!;
    expect(got.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    new Webhook(rotated.secret).verify(got.body, got.headers);
    new Webhook(created.secret).verify(got.body, got.headers);
    expect(() =>
      new Webhook(`whsec_${Buffer.alloc(32, 1).toString("base64")}`).verify(got.body, got.headers),
    ).toThrow();
  });
});

describe(`webhook SSRF guard (${TEST_DIALECT})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it.each([
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://10.1.2.3/hook",
    "http://172.20.0.1/hook",
    "http://192.168.1.10/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]/hook",
    "http://[fd00::1]/hook",
    "http://[fe80::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "http://[::127.0.0.1]/hook",
    "http://[::ffff:0:127.0.0.1]/hook",
    "http://[2002:7f00:1::1]/hook",
    "http://[64:ff9b:1::7f00:1]/hook",
  ])("refuses %s with 422 unless private addresses are allowed", async (url) => {
    const { key } = await t.createTenantWithKey();
    const res = await t.request("POST", "/v1/webhooks", { key, json: { url } });
    expect(res.status).toBe(422);
    const problem = (await res.json()) as { field: string; detail: string };
    expect(problem.field).toBe("url");
    expect(problem.detail).toContain("POSTHORN_WEBHOOK_ALLOW_PRIVATE");
  });

  it("checks again at delivery time, so a stored private URL is never called", async () => {
    const receiver = startWebhookReceiver();
    try {
      const { key, tenantId } = await t.createTenantWithKey();
      // As if the URL had pointed elsewhere when it was saved.
      const res = await t.request("POST", "/v1/webhooks", { key, json: { url: "http://93.184.215.14/hook" } });
      expect(res.status).toBe(201);
      const { id } = (await res.json()) as { id: string };
      await t.deps.db.kysely
        .updateTable("webhook_endpoints")
        .set({ url: receiver.url })
        .where("id", "=", id)
        .where("tenant_id", "=", tenantId)
        .execute();
      const result = (await (await t.request("POST", `/v1/webhooks/${id}/test`, { key })).json()) as {
        success: boolean;
        error: string;
      };
      expect(result.success).toBe(false);
      expect(result.error).toContain("private or reserved");
      expect(receiver.received).toHaveLength(0);
    } finally {
      await receiver.close();
    }
  });
});
