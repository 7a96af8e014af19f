// Which account may send as which address: its own from_email, or any address on a domain it
// lists in allowed_from_domains. This is what stops one tenant from spoofing other senders.
import type { Kysely } from "kysely";
import type { Database } from "../db/schema";
import { domainOf, normalizeAddress } from "./address";

export interface SenderAccount {
  id: string;
  active: number;
  from_email: string;
  allowed_from_domains: string;
}

export function canSendAs(account: Pick<SenderAccount, "from_email" | "allowed_from_domains">, from: string): boolean {
  if (normalizeAddress(account.from_email) === normalizeAddress(from)) return true;
  const domain = domainOf(from);
  try {
    const domains = JSON.parse(account.allowed_from_domains) as string[];
    return domains.some((d) => d.toLowerCase() === domain);
  } catch {
    return false;
  }
}

export async function tenantSenderAccounts(db: Kysely<Database>, tenantId: string): Promise<SenderAccount[]> {
  return db
    .selectFrom("smtp_accounts")
    .select(["id", "active", "from_email", "allowed_from_domains"])
    .where("tenant_id", "=", tenantId)
    .execute();
}
