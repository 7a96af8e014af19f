// Shared setup of the smtp-accounts suites: a temp database with a tenant, the test secret box,
// and rows other modules own (emails, attempts) written directly, as the dispatcher would.
import { loadSecretBox } from "../../src/crypto/secret-box";
import type { AttemptOutcome } from "../../src/db/schema";
import { newId } from "../../src/ids";
import type { CreateSmtpAccountInput, SmtpAccountsDeps } from "../../src/smtp-accounts";
import { createTenant } from "../../src/tenants";
import { type TempDatabase, tempDatabase } from "../helpers/db";

export interface AccountsFixture {
  temp: TempDatabase;
  deps: SmtpAccountsDeps;
  tenantId: string;
  otherTenantId: string;
  /** Tenant ids passed to onChange, in order. */
  changes: string[];
  close(): Promise<void>;
}

export async function accountsFixture(): Promise<AccountsFixture> {
  const temp = await tempDatabase();
  const changes: string[] = [];
  const deps: SmtpAccountsDeps = {
    db: temp.db,
    secrets: loadSecretBox(temp.config).box,
    // As the test config: every test server is on 127.0.0.1 (host-guard.test.ts checks the refusal).
    hostPolicy: { allowPrivate: true },
    onChange: (tenantId) => changes.push(tenantId),
  };
  const tenant = await createTenant(temp.db.kysely, { name: "Acme" });
  const other = await createTenant(temp.db.kysely, { name: "Globex" });
  return { temp, deps, tenantId: tenant.id, otherTenantId: other.id, changes, close: () => temp.cleanup() };
}

export const validAccount = (overrides: Partial<CreateSmtpAccountInput> = {}): CreateSmtpAccountInput => ({
  name: "Primary relay",
  host: "smtp.example.com",
  port: 587,
  username: "relay-user",
  password: "relay-pass-Zq9",
  from_email: "news@example.com",
  ...overrides,
});

/** Writes `outcomes` as attempts of one email through `accountId`, oldest first, 1 s apart. */
export async function recordAttempts(
  f: AccountsFixture,
  accountId: string,
  attempts: { outcome: AttemptOutcome; duration_ms: number }[],
  startedAt = Date.now() - attempts.length * 1000,
): Promise<void> {
  const now = Date.now();
  const emailId = newId("em");
  await f.temp.db.kysely
    .insertInto("emails")
    .values({
      id: emailId,
      tenant_id: f.tenantId,
      status: "sent",
      to_json: "[]",
      subject: "s",
      run_at: now,
      message_id: `<${emailId}@test>`,
      created_at: now,
      updated_at: now,
    })
    .execute();
  if (attempts.length === 0) return;
  await f.temp.db.kysely
    .insertInto("email_attempts")
    .values(
      attempts.map((a, i) => ({
        email_id: emailId,
        attempt: i + 1,
        tenant_id: f.tenantId,
        smtp_account_id: accountId,
        started_at: startedAt + i * 1000,
        duration_ms: a.duration_ms,
        outcome: a.outcome,
        smtp_code: null,
        smtp_response: null,
        error_code: null,
      })),
    )
    .execute();
}
