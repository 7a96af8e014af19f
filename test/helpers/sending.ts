// Fixtures for sending suites: an SMTP account pointing at a test server, an email, and
// waiting for an email to reach a state.
import type { TestApp } from "./app";
import { httpClient } from "./http-client";
import type { TestSmtpServer } from "./smtp-server";

/** An account without security or AUTH on the test server, made through the API of an in-process app or of a server at a URL. */
export async function createSmtpAccount(
  api: TestApp | string,
  key: string,
  server: Pick<TestSmtpServer, "host" | "port">,
  over: Record<string, unknown> = {},
): Promise<{ id: string } & Record<string, unknown>> {
  const json = {
    name: "test server",
    host: server.host,
    port: server.port,
    security: "none",
    from_email: "sender@example.com",
    from_name: "Sender",
    ...over,
  };
  const res =
    typeof api === "string"
      ? await httpClient(api, key).call("POST", "/v1/smtp-accounts", json)
      : await api.request("POST", "/v1/smtp-accounts", { key, json });
  if (res.status !== 201) throw new Error(`creating an SMTP account answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { id: string };
}

/** What suites driving server processes give their accounts: a few connections each. */
export const SINK = { name: "sink", max_connections: 4 };

export const anEmail = (over: Record<string, unknown> = {}) => ({
  from: { email: "sender@example.com", name: "Sender" },
  to: [{ email: "ada@example.com", name: "Ada" }],
  subject: "Hello",
  text: "Hello Ada",
  ...over,
});

export async function sendEmail(t: TestApp, key: string, body: Record<string, unknown> = anEmail()): Promise<string> {
  const res = await t.request("POST", "/v1/emails", { key, json: body });
  if (res.status !== 202) throw new Error(`sending answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

export type EmailView = {
  id: string;
  status: string;
  recipients: { email: string; status: string; smtp_code?: number }[];
  attempts: {
    attempt: number;
    outcome: string;
    smtp_code: number | null;
    smtp_account_id: string | null;
    smtp_response: string | null;
    error_code: string | null;
  }[];
  sent_via: string | null;
  wait_reason: string | null;
  next_attempt_at: string | null;
  last_error: string | null;
} & Record<string, unknown>;

export async function getEmailView(t: TestApp, key: string, id: string): Promise<EmailView> {
  const res = await t.request("GET", `/v1/emails/${id}`, { key });
  if (res.status !== 200) throw new Error(`GET email answered ${res.status}`);
  return (await res.json()) as EmailView;
}

/** Polls the email until its status is one of `statuses`; throws with its last state after `timeoutMs`. */
export async function waitForStatus(
  t: TestApp,
  key: string,
  id: string,
  statuses: string[],
  timeoutMs = 8000,
): Promise<EmailView> {
  const deadline = Date.now() + timeoutMs;
  let last: EmailView | undefined;
  while (Date.now() < deadline) {
    last = await getEmailView(t, key, id);
    if (statuses.includes(last.status)) return last;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`email ${id} did not reach ${statuses.join("/")}: ${JSON.stringify(last)}`);
}
