// The suppressions module's face: the list itself, the key an address is compared by, and the
// short-lived per-tenant snapshots the accept path reads.
export { suppressionKey } from "./address-key";
export {
  CreateSuppressionSchema,
  SUPPRESSION_DETAIL_MAX,
  SUPPRESSION_REASONS,
  type Suppression,
  SuppressionReasonSchema,
  SuppressionSchema,
} from "./schemas";
export { SuppressionSnapshots } from "./snapshots";
export * from "./suppressions";
