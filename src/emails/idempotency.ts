// Idempotency-Key: the first answer for a key is stored in the same transaction as what it
// created, so a retry (after a timeout, a restart, or on another instance) gets that answer
// back and creates nothing; the same key with a different body is a 409.
import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema";
import { PosthornError, validationFailed } from "../errors";

export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

export interface StoredResponse {
  status: number;
  body: unknown;
}

export function checkIdempotencyKey(key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || /\p{Cc}/u.test(key)) {
    throw validationFailed("Idempotency-Key", `must be 1–${MAX_IDEMPOTENCY_KEY_LENGTH} printable characters`);
  }
  return key;
}

export function requestHash(body: unknown): string {
  return createHash("sha256").update(JSON.stringify(body)).digest("hex");
}

/** The stored answer for this key, or undefined when the key is new (or expired). */
export async function findIdempotentResponse(
  trx: Kysely<Database>,
  tenantId: string,
  key: string,
  hash: string,
  now: number,
): Promise<StoredResponse | undefined> {
  const prior = await trx
    .selectFrom("idempotency_keys")
    .select(["request_hash", "response_status", "response_body", "expires_at"])
    .where("tenant_id", "=", tenantId)
    .where("key", "=", key)
    .executeTakeFirst();
  if (!prior) return undefined;
  if (prior.expires_at <= now) {
    await trx.deleteFrom("idempotency_keys").where("tenant_id", "=", tenantId).where("key", "=", key).execute();
    return undefined;
  }
  if (prior.request_hash !== hash) {
    throw new PosthornError(
      "idempotency_conflict",
      "This Idempotency-Key was already used with a different request body; use a new key for a new request.",
    );
  }
  return { status: prior.response_status, body: JSON.parse(prior.response_body) };
}

export async function storeIdempotentResponse(
  trx: Kysely<Database>,
  row: { tenantId: string; key: string; hash: string; response: StoredResponse; now: number; ttlMs: number },
): Promise<void> {
  await trx
    .insertInto("idempotency_keys")
    .values({
      tenant_id: row.tenantId,
      key: row.key,
      request_hash: row.hash,
      response_status: row.response.status,
      response_body: JSON.stringify(row.response.body),
      created_at: row.now,
      expires_at: row.now + row.ttlMs,
    })
    .execute();
}
