// Fixtures for suites that drive real server processes over HTTP: a tenant and key written
// straight into the shared database, and an SMTP account on the test server made through an API.
import { createApiKey } from "../../src/api-keys";
import { createTenant } from "../../src/tenants";
import type { TempDatabase } from "./db";
import { httpClient } from "./http-client";
import type { TestSmtpServer } from "./smtp-server";

export async function tenantWithKey(temp: TempDatabase, name: string): Promise<{ tenantId: string; key: string }> {
  const tenant = await createTenant(temp.db.kysely, { name });
  return {
    tenantId: tenant.id,
    key: (await createApiKey(temp.db.kysely, { tenantId: tenant.id, name: "k", scope: "full" })).key,
  };
}

/** An account without security or AUTH on the test server, created through the API at `url`. */
export async function addSinkAccount(
  url: string,
  key: string,
  smtp: Pick<TestSmtpServer, "host" | "port">,
  over: Record<string, unknown> = {},
): Promise<{ id: string }> {
  const res = await httpClient(url, key).call("POST", "/v1/smtp-accounts", {
    name: "sink",
    host: smtp.host,
    port: smtp.port,
    security: "none",
    from_email: "sender@example.com",
    max_connections: 4,
    ...over,
  });
  if (res.status !== 201) throw new Error(`creating an SMTP account answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { id: string };
}
