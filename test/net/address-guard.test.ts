// The SSRF guard's address policy, as a table: every IANA special-purpose range (IPv4 and IPv6)
// and the IPv6 forms that carry an IPv4 address are refused; global unicast is allowed.
import { describe, expect, it } from "bun:test";
import { checkHost, isBlockedAddress } from "../../src/net";

const BLOCKED: [string, string][] = [
  ["0.0.0.0", "this network"],
  ["0.1.2.3", "this network"],
  ["10.0.0.1", "private"],
  ["100.64.0.1", "CGNAT"],
  ["127.0.0.1", "loopback"],
  ["127.255.255.254", "loopback"],
  ["169.254.169.254", "link-local (cloud metadata)"],
  ["172.16.0.1", "private"],
  ["172.31.255.255", "private"],
  ["192.0.0.8", "IETF protocol assignments"],
  ["192.0.2.1", "TEST-NET-1"],
  ["192.31.196.1", "AS112"],
  ["192.52.193.1", "AMT"],
  ["192.88.99.1", "6to4 relay anycast"],
  ["192.168.0.1", "private"],
  ["192.175.48.1", "AS112"],
  ["198.18.0.1", "benchmarking"],
  ["198.51.100.1", "TEST-NET-2"],
  ["203.0.113.1", "TEST-NET-3"],
  ["224.0.0.1", "multicast"],
  ["240.0.0.1", "reserved"],
  ["255.255.255.255", "broadcast"],
  ["::", "unspecified"],
  ["::1", "loopback"],
  ["::127.0.0.1", "IPv4-compatible (deprecated), loopback inside"],
  ["::8.8.8.8", "IPv4-compatible (deprecated), even with a public address inside"],
  ["::ffff:127.0.0.1", "IPv4-mapped loopback"],
  ["::ffff:10.0.0.1", "IPv4-mapped private"],
  ["::ffff:169.254.169.254", "IPv4-mapped link-local"],
  ["::ffff:0:127.0.0.1", "SIIT IPv4-translated (RFC 6145)"],
  ["::ffff:0:8.8.8.8", "SIIT IPv4-translated (RFC 6145)"],
  ["64:ff9b::7f00:1", "NAT64 well-known prefix, loopback inside"],
  ["64:ff9b::a9fe:a9fe", "NAT64 well-known prefix, link-local inside"],
  ["64:ff9b:1::808:808", "NAT64 local-use prefix (RFC 8215)"],
  ["100::1", "discard-only"],
  ["100:0:0:1::1", "dummy prefix (RFC 9780)"],
  ["2001::1", "Teredo"],
  ["2001:2::1", "benchmarking"],
  ["2001:10::1", "ORCHID"],
  ["2001:20::1", "ORCHIDv2"],
  ["2001:db8::1", "documentation"],
  ["2002:7f00:1::1", "6to4, loopback inside"],
  ["2002:808:808::1", "6to4 (deprecated), even with a public address inside"],
  ["2620:4f:8000::1", "AS112"],
  ["3fff::1", "documentation (RFC 9637)"],
  ["5f00::1", "segment routing"],
  ["fc00::1", "unique-local"],
  ["fd00::1", "unique-local"],
  ["fe80::1", "link-local"],
  ["fe80::1%eth0", "link-local with a zone"],
  ["fec0::1", "site-local (deprecated)"],
  ["ff02::1", "multicast"],
  ["4000::1", "outside global unicast"],
  ["0:0:0::0:0.0.0.0", "unspecified, in a spelling the URL parser refuses"],
  ["::0:0:0:0:0.0.0.0", "unspecified, in a spelling the URL parser refuses"],
  ["not-an-ip", "not an address"],
  ["", "empty"],
];

const ALLOWED = [
  "8.8.8.8",
  "1.1.1.1",
  "93.184.215.14",
  "172.32.0.1",
  "100.128.0.1",
  "192.0.3.1",
  "198.20.0.1",
  "223.255.255.254",
  "2606:4700::1111",
  "2a00:1450:4001:82b::200e",
  "2001:4860:4860::8888",
  "::ffff:8.8.8.8",
  "64:ff9b::808:808",
];

describe("isBlockedAddress", () => {
  it.each(BLOCKED)("refuses %s (%s)", (ip) => {
    expect(isBlockedAddress(ip)).toBe(true);
  });

  it.each(ALLOWED)("allows %s", (ip) => {
    expect(isBlockedAddress(ip)).toBe(false);
  });
});

describe("checkHost", () => {
  const policy = (answers: string[]) => ({
    allowPrivate: false,
    resolve: async () => answers.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })),
  });

  it("checks a literal address without resolving, brackets and all", async () => {
    const never = { allowPrivate: false, resolve: () => Promise.reject(new Error("must not resolve")) };
    expect(await checkHost("[::1]", never)).toMatchObject({ ok: false, private: true });
    expect(await checkHost("8.8.8.8", never)).toEqual({ ok: true, addresses: [{ address: "8.8.8.8", family: 4 }] });
  });

  it("refuses a name when any of its addresses is refused, naming that address", async () => {
    const check = await checkHost("mixed.example", policy(["8.8.8.8", "::ffff:127.0.0.1"]));
    expect(check).toEqual({
      ok: false,
      private: true,
      reason: "mixed.example resolves to ::ffff:127.0.0.1, a private or reserved address",
    });
  });

  it("gives every checked address of a public name", async () => {
    expect(await checkHost("public.example", policy(["8.8.8.8", "2606:4700::1111"]))).toEqual({
      ok: true,
      addresses: [
        { address: "8.8.8.8", family: 4 },
        { address: "2606:4700::1111", family: 6 },
      ],
    });
  });

  it("tells a name that does not resolve from a private one", async () => {
    const failing = { allowPrivate: false, resolve: () => Promise.reject(new Error("ENOTFOUND")) };
    expect(await checkHost("nowhere.example", failing)).toEqual({
      ok: false,
      private: false,
      reason: "nowhere.example does not resolve",
    });
    expect(await checkHost("empty.example", policy([]))).toMatchObject({ ok: false, private: false });
  });

  it("counts a resolver that does not answer in time as not resolving", async () => {
    const silent = { allowPrivate: false, resolve: () => new Promise<never>(() => {}) };
    const started = performance.now();
    expect(await checkHost("slow.example", silent, 50)).toEqual({
      ok: false,
      private: false,
      reason: "slow.example did not resolve within 50 ms",
    });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("still resolves (to pin the addresses) but refuses nothing when private networks are allowed", async () => {
    expect(await checkHost("relay.lan", { ...policy(["10.0.0.5"]), allowPrivate: true })).toEqual({
      ok: true,
      addresses: [{ address: "10.0.0.5", family: 4 }],
    });
  });
});
