// Unsubscribe: signed one-click links and what they do. The module's whole public surface.
import type { Kysely } from "kysely";
import type { SecretBox } from "../crypto";
import type { Database } from "../db";
import { addSuppression } from "../suppressions";
import { getTenant } from "../tenants";
import { readUnsubscribeToken, type UnsubscribeClaim } from "./token";

export {
  hasOwnListUnsubscribe,
  ListUnsubscribeField,
  type ListUnsubscribeOption,
  listUnsubscribeHeaders,
} from "./list-unsubscribe";
export { readUnsubscribeToken, signUnsubscribeToken, type UnsubscribeClaim } from "./token";

/**
 * Puts the link's address on its tenant's suppression list (reason `unsubscribe`). Undefined
 * when the token is not genuine or its tenant no longer exists. Repeating it changes nothing.
 */
export async function unsubscribeByToken(
  db: Kysely<Database>,
  secrets: SecretBox,
  token: string,
): Promise<UnsubscribeClaim | undefined> {
  const claim = readUnsubscribeToken(secrets, token);
  if (!claim) return undefined;
  const tenantExists = await getTenant(db, claim.tenantId).then(
    () => true,
    () => false,
  );
  if (!tenantExists) return undefined;
  await addSuppression(db, claim.tenantId, {
    email: claim.address,
    reason: "unsubscribe",
    detail: "the recipient unsubscribed with the List-Unsubscribe link",
    sourceEmailId: claim.emailId,
  });
  return claim;
}
