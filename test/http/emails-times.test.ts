// Every time the sending API answers is RFC 3339 in UTC, as its document says (`format:
// date-time`), on either database. Checked here with a strict pattern: the contract check's
// date-time format also lets a space for the `T` and a missing offset through.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { anEmail, createSmtpAccount } from "../helpers/sending";

const RFC_3339_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Every `…_at` field anywhere in `body`, with its path. */
function timesIn(body: unknown, at = "body"): [string, unknown][] {
  if (Array.isArray(body)) return body.flatMap((item, i) => timesIn(item, `${at}[${i}]`));
  if (!body || typeof body !== "object") return [];
  return Object.entries(body).flatMap(([key, value]) =>
    key.endsWith("_at") && value !== null ? [[`${at}.${key}`, value]] : timesIn(value, `${at}.${key}`),
  );
}

describe(`times in the sending API (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let key: string;

  beforeAll(async () => {
    t = await createTestApp();
    ({ key } = await t.createTenantWithKey("Clocks"));
    await createSmtpAccount(t, key, { host: "127.0.0.1", port: 2525 });
  });
  afterAll(() => t.close());

  const json = async (method: string, path: string, body?: unknown) => {
    const res = await t.request(method, path, body instanceof FormData ? { key, body } : { key, json: body });
    expect(res.status).toBeLessThan(300);
    return res.json();
  };

  it("answers every time of an email, a batch, a template and an attachment as RFC 3339 UTC", async () => {
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const accepted = (await json("POST", "/v1/emails", anEmail({ scheduled_at: later }))) as { id: string };
    const batch = (await json("POST", "/v1/emails/batch", { defaults: anEmail(), emails: [{}, {}] })) as { id: string };
    const template = (await json("POST", "/v1/templates", { name: "t", subject: "s", text: "x" })) as { id: string };
    await json("PATCH", `/v1/templates/${template.id}`, { text: "y" });
    const form = new FormData();
    form.append("files", new File([new TextEncoder().encode("plain text")], "note.txt"));
    const answers = [
      accepted,
      batch,
      await json("GET", `/v1/emails/${accepted.id}`),
      await json("POST", `/v1/emails/${accepted.id}/cancel`),
      await json("GET", "/v1/emails?include=content"),
      await json("GET", `/v1/batches/${batch.id}`),
      await json("POST", `/v1/batches/${batch.id}/pause`),
      await json("GET", "/v1/batches"),
      template,
      await json("GET", `/v1/templates/${template.id}`),
      await json("GET", "/v1/templates"),
      await json("GET", `/v1/templates/${template.id}/versions`),
      await json("GET", `/v1/templates/${template.id}/versions/2`),
      await json("POST", "/v1/attachments", form),
      await json("GET", "/v1/attachments"),
    ];
    const times = timesIn(answers);
    // Every kind of time but those of sending (sent_at, an attempt's at), which takes an SMTP server.
    expect(new Set(times.map(([at]) => at.split(".").pop()))).toEqual(
      new Set(["scheduled_at", "next_attempt_at", "created_at", "updated_at", "completed_at", "expires_at"]),
    );
    for (const [at, value] of times)
      expect({ at, value: RFC_3339_UTC.test(String(value)) }).toEqual({ at, value: true });
  });
});
