// A tenant's webhook endpoints: the rules of creating, reading, changing and removing them.
// The signing secret is generated here, shown once, and stored sealed with the secret box.
import type { Config } from "../config";
import type { SecretBox } from "../crypto";
import type { Db } from "../db";
import { notFound, PosthornError, validationFailed } from "../errors";
import { newId } from "../ids";
import { checkHost } from "../net";
import { decodeCursor, type Page, type PageRequest, pageSize, toPage } from "../pagination";
import { parseOrThrow } from "../validation";
import {
  countEndpoints,
  deleteEndpoint,
  insertEndpoint,
  selectEndpoint,
  selectEndpointPage,
  signingSecretPlace,
  updateEndpoint,
  type WebhookEndpointRow,
} from "./endpoint-store";
import { EMAIL_EVENT_TYPES, type EmailEventType } from "./events";
import {
  type CreateWebhookInput,
  CreateWebhookSchema,
  type UpdateWebhookInput,
  UpdateWebhookSchema,
  type Webhook,
} from "./schemas";
import { generateWebhookSecret } from "./signing";

/** Fan-out per event is bounded: each endpoint is one outbox row per event. */
export const MAX_WEBHOOKS_PER_TENANT = 20;
/** After a rotation the old secret keeps signing this long, so receivers can switch without losing events. */
export const SECRET_ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

export interface WebhooksDeps {
  db: Db;
  secrets: SecretBox;
  config: Pick<Config, "webhookAllowPrivate">;
  /** Called after a change is committed: the outbox's subscription cache forgets the tenant. */
  onChange?: (tenantId: string) => void;
}

export type { Webhook };

export function parseEvents(json: string): EmailEventType[] {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed)
    ? parsed.filter((e): e is EmailEventType => (EMAIL_EVENT_TYPES as readonly string[]).includes(e))
    : [];
}

function toWebhook(row: WebhookEndpointRow): Webhook {
  return {
    id: row.id,
    object: "webhook",
    url: row.url,
    description: row.description,
    events: parseEvents(row.events_json),
    active: row.active === 1,
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}

/** Refuses URLs into private networks (unless allowed): a 422 naming `url`. */
async function checkUrl(deps: WebhooksDeps, url: string): Promise<void> {
  if (deps.config.webhookAllowPrivate) return;
  const check = await checkHost(new URL(url).hostname, { allowPrivate: false });
  if (!check.ok && !check.private) throw validationFailed("url", check.reason);
  if (!check.ok) {
    throw validationFailed(
      "url",
      `${check.reason}; webhooks may not reach private networks (the operator can allow it with POSTHORN_WEBHOOK_ALLOW_PRIVATE=true)`,
    );
  }
}

const storedEvents = (events: readonly EmailEventType[] | undefined) =>
  JSON.stringify(events ? [...new Set(events)] : [...EMAIL_EVENT_TYPES]);

export async function createWebhook(
  deps: WebhooksDeps,
  tenantId: string,
  input: CreateWebhookInput,
): Promise<Webhook & { secret: string }> {
  const f = parseOrThrow(CreateWebhookSchema, input);
  await checkUrl(deps, f.url);
  if ((await countEndpoints(deps.db.kysely, tenantId)) >= MAX_WEBHOOKS_PER_TENANT) {
    throw new PosthornError(
      "conflict",
      `A tenant may have at most ${MAX_WEBHOOKS_PER_TENANT} webhook endpoints; delete one first.`,
    );
  }
  const now = Date.now();
  const secret = generateWebhookSecret();
  const id = newId("wh", now);
  const row: WebhookEndpointRow = {
    id,
    tenant_id: tenantId,
    url: f.url,
    description: f.description ?? null,
    events_json: storedEvents(f.events),
    active: f.active === false ? 0 : 1,
    secret_sealed: deps.secrets.seal(secret, signingSecretPlace(id, "secret_sealed")),
    previous_secret_sealed: null,
    previous_secret_expires_at: null,
    created_at: now,
    updated_at: now,
  };
  await insertEndpoint(deps.db.kysely, row);
  deps.onChange?.(tenantId);
  return { ...toWebhook(row), secret };
}

export async function getWebhook(db: Db, tenantId: string, id: string): Promise<Webhook> {
  const row = await selectEndpoint(db.kysely, tenantId, id);
  if (!row) throw notFound("webhook");
  return toWebhook(row);
}

export async function listWebhooks(db: Db, tenantId: string, page: PageRequest): Promise<Page<Webhook>> {
  const limit = pageSize(page.limit);
  const rows = await selectEndpointPage(db.kysely, tenantId, decodeCursor(page.cursor), limit);
  return toPage(rows, limit, toWebhook);
}

export async function updateWebhook(
  deps: WebhooksDeps,
  tenantId: string,
  id: string,
  input: UpdateWebhookInput,
): Promise<Webhook> {
  const f = parseOrThrow(UpdateWebhookSchema, input);
  if (f.url !== undefined) await checkUrl(deps, f.url);
  const changed = await updateEndpoint(deps.db.kysely, tenantId, id, {
    ...(f.url !== undefined ? { url: f.url } : {}),
    ...(f.events !== undefined ? { events_json: storedEvents(f.events) } : {}),
    ...(f.description !== undefined ? { description: f.description } : {}),
    ...(f.active !== undefined ? { active: f.active ? 1 : 0 } : {}),
    updated_at: Date.now(),
  });
  if (!changed) throw notFound("webhook");
  deps.onChange?.(tenantId);
  return getWebhook(deps.db, tenantId, id);
}

/** Removes the endpoint with its deliveries and their log. */
export async function deleteWebhook(deps: WebhooksDeps, tenantId: string, id: string): Promise<void> {
  if (!(await deleteEndpoint(deps.db.kysely, tenantId, id))) throw notFound("webhook");
  deps.onChange?.(tenantId);
}

export async function rotateWebhookSecret(
  deps: WebhooksDeps,
  tenantId: string,
  id: string,
): Promise<{ id: string; secret: string; previous_secret_expires_at: string }> {
  const row = await selectEndpoint(deps.db.kysely, tenantId, id);
  if (!row) throw notFound("webhook");
  const now = Date.now();
  const secret = generateWebhookSecret();
  const expires = now + SECRET_ROTATION_OVERLAP_MS;
  // Re-sealed for its new column: a sealed secret opens only where it was sealed for.
  const previous = deps.secrets.open(row.secret_sealed, signingSecretPlace(id, "secret_sealed"));
  await updateEndpoint(deps.db.kysely, tenantId, id, {
    secret_sealed: deps.secrets.seal(secret, signingSecretPlace(id, "secret_sealed")),
    previous_secret_sealed: deps.secrets.seal(previous, signingSecretPlace(id, "previous_secret_sealed")),
    previous_secret_expires_at: expires,
    updated_at: now,
  });
  return { id, secret, previous_secret_expires_at: new Date(expires).toISOString() };
}
