// Against SSRF: a webhook URL may not point into the server's own networks (loopback, private,
// link-local — cloud metadata at 169.254.169.254 —, unique-local, CGNAT, multicast, reserved),
// unless the operator allows it. Names are resolved and every address checked, when the URL is
// saved and again before each delivery (a name may be re-pointed after it was saved). A name
// re-pointed in the instant between that check and the connection is not caught; the check
// still stops every address that is private when the POST is about to be made.
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

/** [first address as a number, prefix length] for IPv4. */
const BLOCKED_V4: [string, number][] = [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
];

function v4ToNumber(ip: string): number {
  return ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

function blockedV4(ip: string): boolean {
  const n = v4ToNumber(ip);
  return BLOCKED_V4.some(([base, bits]) => {
    const size = 2 ** (32 - bits);
    const start = v4ToNumber(base);
    return n >= start && n < start + size;
  });
}

/** The 8 16-bit groups of an IPv6 address (an embedded dotted IPv4 tail included). */
function v6Groups(ip: string): number[] {
  let text = ip.toLowerCase().split("%")[0] ?? "";
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4Tail) {
    const n = v4ToNumber(v4Tail[1]!);
    text = `${text.slice(0, -v4Tail[1]!.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const parse = (s: string) => (s ? s.split(":").map((g) => Number.parseInt(g, 16)) : []);
  const h = parse(head);
  const t = parse(tail ?? "");
  const fill = tail === undefined ? [] : Array(8 - h.length - t.length).fill(0);
  return [...h, ...fill, ...t];
}

function blockedV6(ip: string): boolean {
  const g = v6Groups(ip);
  if (g.length !== 8 || g.some((x) => Number.isNaN(x))) return true;
  const [a = 0, b = 0, , , , f = 0, g6 = 0, g7 = 0] = g;
  const allZeroUntil = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (allZeroUntil(7) && (g7 === 0 || g7 === 1)) return true; // :: and ::1
  const embedded = `${g6 >> 8}.${g6 & 255}.${g7 >> 8}.${g7 & 255}`;
  if (allZeroUntil(5) && f === 0xffff) return blockedV4(embedded); // ::ffff:a.b.c.d
  if (a === 0x64 && b === 0xff9b) return blockedV4(embedded); // NAT64 64:ff9b::/96
  if ((a & 0xfe00) === 0xfc00) return true; // fc00::/7 unique-local
  if ((a & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if ((a & 0xffc0) === 0xfec0) return true; // fec0::/10 site-local (deprecated)
  if ((a & 0xff00) === 0xff00) return true; // multicast
  if (a === 0x2001 && b === 0x0db8) return true; // documentation
  return false;
}

/** True when `ip` (v4 or v6) is in a range a webhook may not reach. */
export function isBlockedAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return blockedV4(ip);
  if (family === 6) return blockedV6(ip);
  return true;
}

export type UrlCheck = { ok: true } | { ok: false; reason: string; private: boolean };

/** Checks a parsed http(s) URL's host: literal addresses directly, names by resolving them. */
export async function checkWebhookHost(url: URL, resolve = lookup): Promise<UrlCheck> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host)) {
    return isBlockedAddress(host)
      ? { ok: false, reason: `${host} is a private or reserved address`, private: true }
      : { ok: true };
  }
  let addresses: { address: string }[];
  try {
    addresses = await resolve(host, { all: true, verbatim: true });
  } catch {
    return { ok: false, reason: `${host} does not resolve`, private: false };
  }
  if (addresses.length === 0) return { ok: false, reason: `${host} does not resolve`, private: false };
  const blocked = addresses.find((a) => isBlockedAddress(a.address));
  return blocked
    ? { ok: false, reason: `${host} resolves to ${blocked.address}, a private or reserved address`, private: true }
    : { ok: true };
}
