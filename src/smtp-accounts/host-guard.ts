// An account's host is checked when it is written, so a tenant learns at once that it is refused
// (and why), not from the first send: the same guard as every connection (dial.ts), which checks
// again each time, since a name may be re-pointed after it was saved.
import { validationFailed } from "../errors";
import { dialableHost } from "../mail";
import { type AddressPolicy, checkHost } from "../net";

/** What a refusal says to whoever can change it. */
export const PRIVATE_HOST_HINT =
  "SMTP hosts may not be in private networks (the operator can allow it with POSTHORN_SMTP_ALLOW_PRIVATE=true)";

/** A 422 naming `host` when it is, or resolves into, a private or reserved network (unless allowed), or does not resolve. */
export async function refuseBlockedHost(host: string, policy: AddressPolicy): Promise<void> {
  if (policy.allowPrivate) return;
  const check = await checkHost(dialableHost(host), policy);
  if (check.ok) return;
  throw validationFailed("host", check.private ? `${check.reason}; ${PRIVATE_HOST_HINT}` : check.reason);
}
