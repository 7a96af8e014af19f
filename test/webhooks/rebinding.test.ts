// DNS rebinding: a receiver's name is resolved once, checked, and the POST goes to that address
// (fetched at the IP, the name kept as Host and TLS server name).
// A name that answers a permitted address to the check and 127.0.0.1 afterwards never reaches
// 127.0.0.1. Every address here is on this machine: 127.0.0.2 plays the public address the name
// first answered (the test's policy refuses every other one, as the real one refuses loopback).
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { Resolve } from "../../src/net";
import { postSignedEvent, type SignedPost } from "../../src/webhooks/post";
import { TEST_TLS_CERT, TEST_TLS_KEY } from "../helpers/smtp-server";

interface Listener {
  hits: string[];
  stop(): void;
}

function listen(hostname: string, port: number, status = 200): Listener {
  const hits: string[] = [];
  const server = Bun.serve({
    hostname,
    port,
    fetch: async (req) => {
      hits.push(`${req.method} ${req.headers.get("host")} ${await req.text()}`);
      return new Response(hostname, { status });
    },
  });
  return { hits, stop: () => server.stop(true) };
}

/** Answers `first` to the first question and `then` to every later one, counting them. */
function rebindingResolver(first: string, then: string): Resolve & { calls: number } {
  const resolve = Object.assign(
    async () => {
      resolve.calls++;
      return [{ address: resolve.calls === 1 ? first : then, family: 4 }];
    },
    { calls: 0 },
  );
  return resolve;
}

describe("webhook POSTs go to the checked address (DNS rebinding)", () => {
  let checked: Listener;
  let rebound: Listener;
  let port: number;
  beforeAll(() => {
    // The same port on two loopback addresses: which one answers tells where the POST went.
    for (let tries = 0; ; tries++) {
      const first = Bun.serve({ hostname: "127.0.0.2", port: 0, fetch: () => new Response() });
      port = first.port as number;
      first.stop(true);
      try {
        checked = listen("127.0.0.2", port);
        rebound = listen("127.0.0.1", port);
        return;
      } catch (err) {
        checked?.stop();
        if (tries > 5) throw err;
      }
    }
  });
  afterAll(() => {
    checked.stop();
    rebound.stop();
  });

  const post = (resolve: Resolve, overrides: Partial<SignedPost> = {}) =>
    postSignedEvent({
      // `localhost` is 127.0.0.1 to the system resolver: a client that resolved again would land there.
      url: `http://localhost:${port}/hooks`,
      deliveryId: "msg_rebinding",
      body: '{"type":"email.sent"}',
      secrets: [`whsec_${Buffer.alloc(32, 7).toString("base64")}`],
      timeoutMs: 2000,
      policy: { allowPrivate: false, resolve, isBlocked: (ip) => ip !== "127.0.0.2" },
      ...overrides,
    });

  it("connects to the address the check resolved, never to the one the name answers next", async () => {
    const resolve = rebindingResolver("127.0.0.2", "127.0.0.1");
    const result = await post(resolve);
    expect(result).toMatchObject({ outcome: "success", statusCode: 200, responseBody: "127.0.0.2" });
    expect(resolve.calls).toBe(1);
    expect(checked.hits).toEqual([`POST localhost:${port} {"type":"email.sent"}`]);
    expect(rebound.hits).toEqual([]);
  });

  it("pins the address when private networks are allowed too", async () => {
    checked.hits.length = 0;
    const resolve = rebindingResolver("127.0.0.2", "127.0.0.1");
    const result = await post(resolve, { policy: { allowPrivate: true, resolve } });
    expect(result.responseBody).toBe("127.0.0.2");
    expect(checked.hits).toHaveLength(1);
    expect(rebound.hits).toEqual([]);
  });

  it("tries the next checked address when one cannot be connected to, and no other", async () => {
    checked.hits.length = 0;
    // Nothing listens on 127.0.0.3 at that port: refused at once.
    const resolve: Resolve = async () => [
      { address: "127.0.0.3", family: 4 },
      { address: "127.0.0.2", family: 4 },
    ];
    const allowed = new Set(["127.0.0.2", "127.0.0.3"]);
    const result = await post(resolve, {
      policy: { allowPrivate: false, resolve, isBlocked: (ip) => !allowed.has(ip) },
    });
    expect(result).toMatchObject({ outcome: "success", responseBody: "127.0.0.2" });
    expect(checked.hits).toHaveLength(1);
    expect(rebound.hits).toEqual([]);
  });

  it("refuses, without connecting, a name whose answer is refused", async () => {
    const result = await post(rebindingResolver("127.0.0.1", "127.0.0.2"));
    expect(result).toMatchObject({
      outcome: "blocked",
      retryable: false,
      error: "refused: localhost resolves to 127.0.0.1, a private or reserved address",
    });
    expect(rebound.hits).toEqual([]);
  });

  it("bounds a resolver that never answers by the attempt's timeout", async () => {
    const started = performance.now();
    const result = await post(() => new Promise(() => {}), { timeoutMs: 150 });
    expect(result).toMatchObject({ outcome: "timeout", error: "no answer within 150 ms", retryable: true });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("reads only the start of a large answer and does not follow a redirect", async () => {
    const big = Bun.serve({
      hostname: "127.0.0.2",
      port: 0,
      fetch: (req) =>
        new URL(req.url).pathname === "/moved"
          ? new Response(null, { status: 302, headers: { Location: `http://127.0.0.1:${port}/hooks` } })
          : new Response(new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(65536).fill(97)) })),
    });
    try {
      const resolve = async () => [{ address: "127.0.0.2", family: 4 }];
      const long = await post(resolve, { url: `http://answers.test:${big.port}/long` });
      expect(long).toMatchObject({ outcome: "success", statusCode: 200 });
      expect(long.responseBody).toBe("a".repeat(1000));
      const moved = await post(resolve, { url: `http://answers.test:${big.port}/moved` });
      expect(moved).toMatchObject({ outcome: "http_error", statusCode: 302 });
      expect(rebound.hits).toEqual([]);
    } finally {
      big.stop(true);
    }
  });

  it("still verifies the receiver's certificate over the pinned connection", async () => {
    // Self-signed for localhost: no client that checks certificates may accept it.
    const https = Bun.serve({
      hostname: "127.0.0.2",
      port: 0,
      tls: { key: TEST_TLS_KEY, cert: TEST_TLS_CERT },
      fetch: () => new Response("accepted"),
    });
    try {
      const resolve = async () => [{ address: "127.0.0.2", family: 4 }];
      const result = await post(resolve, { url: `https://localhost:${https.port}/hooks` });
      expect(result).toMatchObject({ outcome: "network_error", statusCode: null, retryable: true });
      expect(result.error).toMatch(/SELF_SIGNED|self.signed/i);
    } finally {
      https.stop(true);
    }
  });
});
