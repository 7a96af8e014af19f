// The tenant as the API shows it, and the request that makes one: declared once, the type
// inferred from them.
import * as v from "valibot";
import { named, Timestamp } from "../validation";

export const TENANT_NAME_MAX = 200;

export const TenantSchema = named(
  "Tenant",
  v.object({
    object: v.literal("tenant"),
    id: v.string(),
    name: v.string(),
    created_at: Timestamp,
  }),
  { object: "tenant", id: "ten_01m8rf12e0qrjeyagq8tady9eh", name: "Acme", created_at: "2026-12-01T09:30:00.000Z" },
);

export const CreateTenantSchema = named(
  "CreateTenantRequest",
  v.object({
    name: v.pipe(
      v.string(),
      v.trim(),
      v.minLength(1, "must not be empty"),
      v.maxLength(TENANT_NAME_MAX),
      v.description("A name to recognise the tenant by."),
    ),
  }),
  { name: "Acme" },
);

export type Tenant = v.InferOutput<typeof TenantSchema>;
