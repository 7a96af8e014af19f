// An account's host is checked when it is written, so a tenant learns at once that it is refused
// (and why), not from the first send: the same guard as every connection (dial.ts), which checks
// again each time, since a name may be re-pointed after it was saved.
import { validationFailed } from "../errors";
import { dialableHost } from "../mail/address";
import { type AddressPolicy, checkHost } from "../net";

/** What a refusal says to whoever can change it. */
export const PRIVATE_HOST_HINT =
  "SMTP hosts may not be in private networks (the operator can allow it with POSTHORN_SMTP_ALLOW_PRIVATE=true)";

/** Resolving a host at write time waits at most this long (a 422 then, rather than a hung request). */
export const HOST_CHECK_TIMEOUT_MS = 5_000;

/** A 422 naming `host` when it is, or resolves into, a private or reserved network (unless allowed), or does not resolve. */
export async function refuseBlockedHost(host: string, policy: AddressPolicy): Promise<void> {
  if (policy.allowPrivate) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const slow = new Promise<{ ok: false; reason: string; private: false }>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({ ok: false, reason: `${host} did not resolve within ${HOST_CHECK_TIMEOUT_MS} ms`, private: false }),
      HOST_CHECK_TIMEOUT_MS,
    );
  });
  const check = await Promise.race([checkHost(dialableHost(host), policy), slow]).finally(() => clearTimeout(timer));
  if (check.ok) return;
  throw validationFailed("host", check.private ? `${check.reason}; ${PRIVATE_HOST_HINT}` : check.reason);
}
