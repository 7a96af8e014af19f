// The inbound_messages table: one row per message received, matched or not, kept with its bytes.
import type { Insertable, Kysely, Selectable } from "kysely";
import type { Database } from "../db";
import { notFound } from "../errors";
import { decodeCursor, type Page, type PageRequest, pageSize, toPage } from "../pagination";
import { INBOUND_RAW_CHARS, type InboundMessage, type InboundMessageDetail } from "./schemas";

type Row = Selectable<Database["inbound_messages"]>;
type MetadataRow = Omit<Row, "raw">;

const METADATA_COLUMNS = [
  "id",
  "tenant_id",
  "source",
  "received_at",
  "envelope_from",
  "envelope_to",
  "from_header",
  "subject",
  "message_id",
  "kind",
  "matched",
  "email_id",
  "outcome",
  "size_bytes",
] as const;

export function insertInboundMessage(trx: Kysely<Database>, row: Insertable<Database["inbound_messages"]>) {
  return trx.insertInto("inbound_messages").values(row).execute();
}

function toInboundMessage(r: MetadataRow): InboundMessage {
  return {
    id: r.id,
    object: "inbound_message",
    received_at: new Date(Number(r.received_at)).toISOString(),
    source: r.source,
    envelope_from: r.envelope_from,
    envelope_to: r.envelope_to ? (JSON.parse(r.envelope_to) as string[]) : [],
    from: r.from_header,
    subject: r.subject,
    message_id: r.message_id,
    kind: r.kind,
    matched: Number(r.matched) === 1,
    email_id: r.email_id,
    outcome: r.outcome,
    size_bytes: Number(r.size_bytes),
  };
}

export interface ListInboundRequest extends PageRequest {
  matched?: boolean;
}

/** Newest first (ids carry the time received). */
export async function listInboundMessages(
  db: Kysely<Database>,
  tenantId: string,
  request: ListInboundRequest = {},
): Promise<Page<InboundMessage>> {
  const limit = pageSize(request.limit);
  const after = decodeCursor(request.cursor);
  let q = db
    .selectFrom("inbound_messages")
    .select(METADATA_COLUMNS)
    .where("tenant_id", "=", tenantId)
    .orderBy("id", "desc")
    .limit(limit + 1);
  if (request.matched !== undefined) q = q.where("matched", "=", request.matched ? 1 : 0);
  if (after) q = q.where("id", "<", after);
  return toPage(await q.execute(), limit, toInboundMessage);
}

export async function getInboundMessage(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
): Promise<InboundMessageDetail> {
  const row = await db
    .selectFrom("inbound_messages")
    .selectAll()
    .where("tenant_id", "=", tenantId)
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) throw notFound("inbound message");
  const text = new TextDecoder("utf-8").decode(row.raw);
  const raw = text.length > INBOUND_RAW_CHARS ? text.slice(0, INBOUND_RAW_CHARS) : text;
  return {
    ...toInboundMessage(row),
    raw,
    raw_truncated: raw.length < text.length || row.raw.byteLength < Number(row.size_bytes),
  };
}
