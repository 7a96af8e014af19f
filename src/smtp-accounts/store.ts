// Every query on smtp_accounts, named for what it does; the rules live in accounts.ts.
// Every lookup is scoped by tenant: another tenant's account id simply finds nothing.
import { type Insertable, type Kysely, type Selectable, sql, type Transaction, type Updateable } from "kysely";
import type { Database, Db, SmtpAccountsTable } from "../db";
import { selectTenantPage } from "../db";
import { type AttemptSample, HEALTH_SAMPLE_SIZE } from "./health";

export type SmtpAccountRow = Selectable<SmtpAccountsTable>;
type Executor = Kysely<Database> | Transaction<Database>;

export async function selectAccount(
  db: Executor,
  tenantId: string,
  accountId: string,
): Promise<SmtpAccountRow | undefined> {
  return db
    .selectFrom("smtp_accounts")
    .selectAll()
    .where("tenant_id", "=", tenantId)
    .where("id", "=", accountId)
    .executeTakeFirst();
}

/** Newest first; `limit + 1` rows so the caller knows whether a next page exists. */
export async function selectAccountPage(
  db: Executor,
  tenantId: string,
  afterId: string | undefined,
  limit: number,
): Promise<SmtpAccountRow[]> {
  return selectTenantPage(db, "smtp_accounts", tenantId, afterId, limit);
}

/** Who each of the tenant's accounts may send as, active or not (cheap: no passwords opened). */
export async function selectSenderIdentities(db: Executor, tenantId: string) {
  return db
    .selectFrom("smtp_accounts")
    .select(["id", "active", "from_email", "allowed_from_domains"])
    .where("tenant_id", "=", tenantId)
    .execute();
}

export async function selectActiveAccounts(db: Executor, tenantId: string): Promise<SmtpAccountRow[]> {
  return db
    .selectFrom("smtp_accounts")
    .selectAll()
    .where("tenant_id", "=", tenantId)
    .where("active", "=", 1)
    .orderBy("id")
    .execute();
}

export async function insertAccount(db: Executor, row: Insertable<SmtpAccountsTable>): Promise<void> {
  await db.insertInto("smtp_accounts").values(row).execute();
}

export async function updateAccount(
  db: Executor,
  tenantId: string,
  accountId: string,
  changes: Updateable<SmtpAccountsTable>,
): Promise<void> {
  await db
    .updateTable("smtp_accounts")
    .set(changes)
    .where("tenant_id", "=", tenantId)
    .where("id", "=", accountId)
    .execute();
}

/** True when there was such an account. */
export async function deleteAccount(db: Executor, tenantId: string, accountId: string): Promise<boolean> {
  const result = await db
    .deleteFrom("smtp_accounts")
    .where("tenant_id", "=", tenantId)
    .where("id", "=", accountId)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** The tenant's other accounts stop being the default (run after marking `keepId`, in its transaction). */
export async function clearOtherDefaults(db: Executor, tenantId: string, keepId: string): Promise<void> {
  await db
    .updateTable("smtp_accounts")
    .set({ is_default: 0 })
    .where("tenant_id", "=", tenantId)
    .where("id", "!=", keepId)
    .where("is_default", "=", 1)
    .execute();
}

/**
 * Serialises default-setting writes of one tenant on Postgres. Without it two transactions that
 * each mark a *new* account default would each clear only the rows they can see and both commit
 * as default. (SQLite needs nothing: BEGIN IMMEDIATE already admits one writer at a time.)
 */
export async function lockTenantDefaults(db: Db, trx: Transaction<Database>, tenantId: string): Promise<void> {
  if (db.dialect !== "postgres") return;
  await sql`select pg_advisory_xact_lock(hashtext(${`posthorn:smtp-default:${tenantId}`}))`.execute(trx);
}

/** The account's latest attempts (newest first, at most HEALTH_SAMPLE_SIZE), through the (account, started_at) index. */
export async function selectRecentAttempts(db: Executor, accountId: string): Promise<AttemptSample[]> {
  return db
    .selectFrom("email_attempts")
    .select(["outcome", "duration_ms"])
    .where("smtp_account_id", "=", accountId)
    .orderBy("started_at", "desc")
    .limit(HEALTH_SAMPLE_SIZE)
    .execute();
}
