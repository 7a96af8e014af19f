// An API key as the API shows it (and as created, with the key itself once): declared once
// here, the types inferred from them.
import * as v from "valibot";
import { TenantSchema } from "../tenants";
import { API_KEY_SCOPES } from "./scopes";

export const ApiKeySchema = v.pipe(
  v.object({
    id: v.string(),
    tenant_id: v.string(),
    name: v.string(),
    prefix: v.pipe(v.string(), v.description("Public start of the key, to recognise it.")),
    daily_limit: v.nullable(v.number()),
    scope: v.pipe(
      v.picklist(API_KEY_SCOPES),
      v.description(
        "`full`: every route. `sending`: send emails and batches, upload attachments, read and cancel the " +
          "emails sent with this key, read the batches sent with it, and GET /v1/me; anything else answers 403 " +
          "`insufficient_scope`.",
      ),
    ),
    created_at: v.string(),
    last_used_at: v.nullable(v.string()),
    revoked_at: v.nullable(v.string()),
  }),
  v.title("ApiKey"),
);

export const CreatedApiKeySchema = v.pipe(
  v.object({ ...ApiKeySchema.entries, key: v.pipe(v.string(), v.description("The whole key. Shown only this once.")) }),
  v.title("CreatedApiKey"),
);

/** What `GET /v1/me` answers: the tenant behind a key, and of the key what its holder may know. */
export const MeSchema = v.pipe(
  v.object({ tenant: TenantSchema, api_key: v.pick(ApiKeySchema.pipe[0], ["id", "daily_limit", "scope"]) }),
  v.title("Me"),
);

export type ApiKey = v.InferOutput<typeof ApiKeySchema>;
export type CreatedApiKey = v.InferOutput<typeof CreatedApiKeySchema>;
