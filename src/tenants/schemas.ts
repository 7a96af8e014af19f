// The tenant as the API shows it: declared once, the type inferred from it.
import * as v from "valibot";

export const TENANT_NAME_MAX = 200;

export const TenantSchema = v.pipe(
  v.object({
    object: v.literal("tenant"),
    id: v.string(),
    name: v.string(),
    created_at: v.pipe(v.string(), v.isoTimestamp()),
  }),
  v.title("Tenant"),
);

export type Tenant = v.InferOutput<typeof TenantSchema>;
