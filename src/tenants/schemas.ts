// The tenant as the API shows it, and the requests that make and change one: declared once, the
// type inferred from them.
import * as v from "valibot";
import { BounceDomainField } from "../smtp-accounts";
import { named, Timestamp } from "../validation";

export const TENANT_NAME_MAX = 200;

const NameField = v.pipe(
  v.string(),
  v.trim(),
  v.minLength(1, "must not be empty"),
  v.maxLength(TENANT_NAME_MAX),
  v.description("A name to recognise the tenant by."),
);

const TenantBounceDomainField = v.pipe(
  BounceDomainField,
  v.description(
    "The default bounce domain of the tenant's SMTP accounts (an account's own `bounce_domain` wins): mail " +
      "gets a signed return path per recipient (`bounces+<token>@<bounce domain>`) and asks the relay for DSNs. " +
      "Kept in lower-case ASCII form; null: none.",
  ),
);

export const TenantSchema = named(
  "Tenant",
  v.object({
    object: v.literal("tenant"),
    id: v.string(),
    name: v.string(),
    bounce_domain: v.pipe(
      v.nullable(v.string()),
      v.description("Default bounce domain of the tenant's SMTP accounts (lower-case ASCII), or null."),
    ),
    created_at: Timestamp,
  }),
  {
    object: "tenant",
    id: "ten_01m8rf12e0qrjeyagq8tady9eh",
    name: "Acme",
    bounce_domain: "bounce.acme.example",
    created_at: "2026-12-01T09:30:00.000Z",
  },
);

export const CreateTenantSchema = named(
  "CreateTenantRequest",
  v.object({ name: NameField, bounce_domain: v.optional(v.nullable(TenantBounceDomainField)) }),
  { name: "Acme" },
);

/** PATCH: a field left out keeps its value; `null` clears the bounce domain. */
export const UpdateTenantSchema = named(
  "UpdateTenantRequest",
  v.partial(v.object({ name: NameField, bounce_domain: v.nullable(TenantBounceDomainField) })),
  { bounce_domain: "bounce.acme.example" },
);

export type Tenant = v.InferOutput<typeof TenantSchema>;
export type CreateTenantInput = v.InferInput<typeof CreateTenantSchema>;
export type UpdateTenantInput = v.InferInput<typeof UpdateTenantSchema>;
