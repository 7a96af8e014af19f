// Every query of engagement in one place: the emails a flush of hits belongs to, writing the
// hits, re-deciding a burst's first click, a tenant's defaults and an email's summary rows.
import { type Insertable, type Kysely, sql } from "kysely";
import type { Database, EmailEngagementsTable, EngagementKind } from "../db";

export interface HitEmail {
  id: string;
  tenantId: string;
  sentAt: number | undefined;
}

/** The emails the hits of one flush belong to (a token of a deleted email finds none). */
export async function findHitEmails(db: Kysely<Database>, ids: string[]): Promise<Map<string, HitEmail>> {
  const found = new Map<string, HitEmail>();
  if (ids.length === 0) return found;
  const rows = await db.selectFrom("emails").select(["id", "tenant_id", "sent_at"]).where("id", "in", ids).execute();
  for (const r of rows) {
    found.set(r.id, { id: r.id, tenantId: r.tenant_id, sentAt: r.sent_at === null ? undefined : Number(r.sent_at) });
  }
  return found;
}

/** Rows per INSERT: 12 columns each stays far below either dialect's parameter limit. */
const ROWS_PER_INSERT = 500;

export async function insertEngagements(
  trx: Kysely<Database>,
  rows: Insertable<EmailEngagementsTable>[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    await trx
      .insertInto("email_engagements")
      .values(rows.slice(i, i + ROWS_PER_INSERT))
      .execute();
  }
}

/** A hit already written turned out to be a machine's (the first click of a burst). */
export async function markMachine(trx: Kysely<Database>, id: string, reason: string): Promise<void> {
  await trx.updateTable("email_engagements").set({ machine: 1, machine_reason: reason }).where("id", "=", id).execute();
}

export async function tenantTrackingDefaults(
  db: Kysely<Database>,
  tenantId: string,
): Promise<{ opens: boolean; clicks: boolean }> {
  const row = await db
    .selectFrom("tenants")
    .select(["track_opens", "track_clicks"])
    .where("id", "=", tenantId)
    .executeTakeFirst();
  return { opens: row?.track_opens === 1, clicks: row?.track_clicks === 1 };
}

export interface EngagementGroup {
  recipient: string | null;
  kind: EngagementKind;
  machine: number;
  url: string | null;
  count: number;
  firstAt: number;
  lastAt: number;
}

/** An email's hits, counted by recipient, kind, verdict and URL: bounded by its links × recipients, not its hits. */
export async function engagementGroups(
  db: Kysely<Database>,
  tenantId: string,
  emailId: string,
): Promise<EngagementGroup[]> {
  const rows = await db
    .selectFrom("email_engagements")
    .select((eb) => [
      "recipient",
      "kind",
      "machine",
      "url",
      eb.fn.countAll().as("count"),
      eb.fn.min("at").as("first_at"),
      eb.fn.max("at").as("last_at"),
    ])
    .where("tenant_id", "=", tenantId)
    .where("email_id", "=", emailId)
    .groupBy(["recipient", "kind", "machine", "url"])
    .orderBy(sql`min(at)`)
    .execute();
  return rows.map((r) => ({
    recipient: r.recipient,
    kind: r.kind,
    machine: Number(r.machine),
    url: r.url,
    count: Number(r.count),
    firstAt: Number(r.first_at),
    lastAt: Number(r.last_at),
  }));
}
