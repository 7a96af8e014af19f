// Against SSRF: which addresses the server may dial on a tenant's behalf (webhook receivers, SMTP
// hosts). Only global unicast is allowed: IPv4 outside every IANA special-purpose block, IPv6
// inside 2000::/3 and outside its special-purpose blocks, as ipaddr.js names them (loopback,
// private, link-local — cloud metadata at 169.254.169.254 —, CGNAT, unique-local, multicast,
// documentation, benchmarking, 6to4, Teredo, ORCHID…). An IPv6 address that carries an IPv4
// one is judged by it where the network translates it (IPv4-mapped, the NAT64 well-known prefix,
// which DNS64 hands out on IPv6-only networks) and refused where it is deprecated or local-use
// (IPv4-compatible ::a.b.c.d, SIIT ::ffff:0:a.b.c.d, 6to4, Teredo, 64:ff9b:1::/48).
//
// A name is resolved once, every address checked, and the caller connects to those addresses
// only (pinned-lookup.ts): resolving again at connect time would let a name re-pointed in
// between (DNS rebinding) reach an address that was never checked.
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";

/** Global unicast (RFC 4291 §2.4): every IPv6 address outside it is reserved or special. */
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR("2000::/3");
/** NAT64 well-known prefix (RFC 6052): the last 32 bits are the IPv4 address reached. */
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR("64:ff9b::/96");

function blockedV4(addr: ipaddr.IPv4): boolean {
  return addr.range() !== "unicast";
}

function blockedV6(addr: ipaddr.IPv6): boolean {
  if (addr.isIPv4MappedAddress()) return blockedV4(addr.toIPv4Address());
  if (addr.match(NAT64_WELL_KNOWN)) {
    const p = addr.parts;
    return blockedV4(new ipaddr.IPv4([p[6]! >> 8, p[6]! & 255, p[7]! >> 8, p[7]! & 255]));
  }
  return !addr.match(GLOBAL_UNICAST_V6) || addr.range() !== "unicast";
}

/**
 * IPv6 text in hexadecimal groups only. ipaddr.js reads the deprecated `::a.b.c.d` as
 * `::ffff:a.b.c.d` (mapped), which it is not: the URL parser (WHATWG) writes it as `::808:808`.
 */
function hexV6(text: string): string {
  // Spellings node accepts and the URL parser does not (0:0:0::0:0.0.0.0) are not that form.
  if (!text.includes(".") || !URL.canParse(`http://[${text}]/`)) return text;
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

/** True when `ip` (v4 or v6, canonical text as a resolver gives it) may not be dialled; anything else is true too. */
export function isBlockedAddress(ip: string): boolean {
  const text = ip.split("%")[0] ?? "";
  const family = isIP(text);
  if (family === 4) return blockedV4(ipaddr.IPv4.parse(text));
  if (family === 6 && ipaddr.IPv6.isValid(hexV6(text))) return blockedV6(ipaddr.IPv6.parse(hexV6(text)));
  return true;
}

export interface CheckedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a name to all its addresses (dns.lookup with all: true, or a test's own). */
export type Resolve = (host: string) => Promise<{ address: string; family: number }[]>;

export interface AddressPolicy {
  /** The operator allows private networks: names are still resolved once and pinned, nothing is refused. */
  allowPrivate: boolean;
  resolve?: Resolve;
  /** Tests only: stands in for isBlockedAddress, to play a "public" address on 127.0.0.x. */
  isBlocked?: (ip: string) => boolean;
}

export type HostCheck =
  | { ok: true; addresses: CheckedAddress[] }
  /** `private`: the host is (or resolves into) a refused range; false when it does not resolve. */
  | { ok: false; reason: string; private: boolean };

const systemResolve: Resolve = (host) => lookup(host, { all: true, verbatim: true });

/** A resolution waits at most this long unless the caller says otherwise (dns.lookup has no timeout of its own). */
export const RESOLVE_TIMEOUT_MS = 5_000;

/** Answers `fallback` when `work` has not settled within `ms`. */
async function within<T>(work: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * The host's addresses when every one of them may be dialled; a host given as an address is not
 * resolved. A resolution that takes longer than `timeoutMs` counts as not resolving.
 */
export async function checkHost(
  hostOrBracketed: string,
  policy: AddressPolicy,
  timeoutMs = RESOLVE_TIMEOUT_MS,
): Promise<HostCheck> {
  const host = hostOrBracketed.replace(/^\[|\]$/g, "");
  const blocked = (ip: string) => !policy.allowPrivate && (policy.isBlocked ?? isBlockedAddress)(ip);
  const family = isIP(host);
  if (family) {
    return blocked(host)
      ? { ok: false, reason: `${host} is a private or reserved address`, private: true }
      : { ok: true, addresses: [{ address: host, family: family as 4 | 6 }] };
  }
  let found: { address: string; family: number }[] | undefined;
  try {
    found = await within((policy.resolve ?? systemResolve)(host), timeoutMs, undefined);
  } catch {
    return { ok: false, reason: `${host} does not resolve`, private: false };
  }
  if (found === undefined)
    return { ok: false, reason: `${host} did not resolve within ${timeoutMs} ms`, private: false };
  const addresses = found.flatMap((a): CheckedAddress[] => {
    const f = isIP(a.address);
    return f ? [{ address: a.address, family: f as 4 | 6 }] : [];
  });
  if (addresses.length === 0) return { ok: false, reason: `${host} does not resolve`, private: false };
  const refused = addresses.find((a) => blocked(a.address));
  return refused
    ? { ok: false, reason: `${host} resolves to ${refused.address}, a private or reserved address`, private: true }
    : { ok: true, addresses };
}
