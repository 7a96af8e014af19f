// An API key as the API shows it (and as created, with the key itself once), the request that
// makes one, and what GET /v1/me answers: declared once here, the types inferred from them.
import * as v from "valibot";
import { TenantSchema } from "../tenants";
import { Integer, MAX_STORED_INTEGER, named, Timestamp } from "../validation";
import { API_KEY_SCOPES } from "./scopes";

export const API_KEY_NAME_MAX = 200;

const Scope = v.pipe(
  v.picklist(API_KEY_SCOPES, `must be one of ${API_KEY_SCOPES.join(", ")}`),
  v.description(
    "`full`: every route. `sending`: send emails and batches, upload attachments, read and cancel the " +
      "emails sent with this key, read the batches sent with it, and GET /v1/me; anything else answers 403 " +
      "`insufficient_scope`.",
  ),
);

const DailyLimit = v.pipe(v.nullable(Integer), v.description("Most emails this key may send per UTC day; null: none."));

const ApiKeyFields = v.object({
  id: v.string(),
  tenant_id: v.string(),
  name: v.string(),
  prefix: v.pipe(v.string(), v.description("Public start of the key, to recognise it.")),
  daily_limit: DailyLimit,
  scope: Scope,
  created_at: Timestamp,
  last_used_at: v.nullable(Timestamp),
  revoked_at: v.pipe(v.nullable(Timestamp), v.description("When it was revoked; null while it works.")),
});

const API_KEY_EXAMPLE: v.InferInput<typeof ApiKeyFields> = {
  id: "key_01m8rf12e077x2hb49p0r6zpvn",
  tenant_id: "ten_01m8rf12e0qrjeyagq8tady9eh",
  name: "web app",
  prefix: "ph_qxvr03h5m641",
  daily_limit: 5000,
  scope: "sending",
  created_at: "2026-12-01T09:30:00.000Z",
  last_used_at: "2026-12-02T16:58:41.203Z",
  revoked_at: null,
};

export const ApiKeySchema = named("ApiKey", ApiKeyFields, API_KEY_EXAMPLE);

export const CreatedApiKeySchema = named(
  "CreatedApiKey",
  v.object({
    ...ApiKeyFields.entries,
    key: v.pipe(v.string(), v.description("The whole key. Shown only this once.")),
  }),
  { ...API_KEY_EXAMPLE, last_used_at: null, key: "ph_qxvr03h5m641_te9380f2m29g6vtyqzpv3qh4sp6zhce7" },
);

export const CreateApiKeySchema = named(
  "CreateApiKeyRequest",
  v.object({
    name: v.pipe(
      v.string(),
      v.trim(),
      v.minLength(1, "must not be empty"),
      v.maxLength(API_KEY_NAME_MAX),
      v.description("What the key is for."),
    ),
    scope: v.optional(
      v.pipe(
        v.picklist(API_KEY_SCOPES, `must be one of ${API_KEY_SCOPES.join(", ")}`),
        v.description(
          "What the key may do (see ApiKey.scope). Default: `full` for a tenant's first working key (it sets " +
            "up SMTP accounts and webhooks), `sending` for the keys after it, which is what applications should hold.",
        ),
      ),
    ),
    daily_limit: v.optional(
      v.nullable(
        v.pipe(
          Integer,
          v.minValue(1),
          v.maxValue(MAX_STORED_INTEGER),
          v.description("Most emails this key may send per UTC day; null for no limit."),
        ),
      ),
    ),
  }),
  { name: "web app", scope: "sending", daily_limit: 5000 },
);

/** What `GET /v1/me` answers: the tenant behind a key, and of the key what its holder may know. */
export const MeSchema = named(
  "Me",
  v.object({ tenant: TenantSchema, api_key: v.pick(ApiKeyFields, ["id", "daily_limit", "scope"]) }),
  {
    tenant: {
      object: "tenant",
      id: "ten_01m8rf12e0qrjeyagq8tady9eh",
      name: "Acme",
      bounce_domain: null,
      created_at: "2026-12-01T09:30:00.000Z",
    },
    api_key: { id: "key_01m8rf12e077x2hb49p0r6zpvn", daily_limit: 5000, scope: "sending" },
  },
);

export type ApiKey = v.InferOutput<typeof ApiKeySchema>;
export type CreatedApiKey = v.InferOutput<typeof CreatedApiKeySchema>;
