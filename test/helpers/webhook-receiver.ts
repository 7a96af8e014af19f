// A real HTTP receiver for webhook suites: Bun.serve on 127.0.0.1 and a free port, recording
// every request (headers and raw body) and answering what the test scripts: a status per
// request, or no answer at all (a hanging receiver).
export interface ReceivedWebhook {
  headers: Record<string, string>;
  body: string;
  json: { type: string; timestamp: string; data: Record<string, unknown> };
  at: number;
}

/** Status to answer the n-th request (0-based) with, or "hang" to never answer. */
export type Responder = (n: number, req: ReceivedWebhook) => number | "hang";

export interface WebhookReceiver {
  url: string;
  port: number;
  received: ReceivedWebhook[];
  respond(fn: Responder): void;
  /** Resolves once `count` requests matched `filter` (default: any); rejects after `timeoutMs`. */
  waitFor(count: number, filter?: (r: ReceivedWebhook) => boolean, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

export function startWebhookReceiver(responder: Responder = () => 200): WebhookReceiver {
  let respond = responder;
  const received: ReceivedWebhook[] = [];
  const hanging: (() => void)[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const body = await req.text();
      const headers = Object.fromEntries(req.headers.entries());
      const rec: ReceivedWebhook = { headers, body, json: JSON.parse(body), at: Date.now() };
      const answer = respond(received.length, rec);
      received.push(rec);
      if (answer === "hang") {
        await new Promise<void>((resolve) => hanging.push(resolve));
        return new Response("late", { status: 200 });
      }
      return new Response(answer < 300 ? "ok" : "nope", { status: answer });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/hooks`,
    port: server.port as number,
    received,
    respond: (fn) => {
      respond = fn;
    },
    async waitFor(count, filter = () => true, timeoutMs = 8000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const matching = received.filter(filter);
        if (matching.length >= count) return matching;
        await Bun.sleep(10);
      }
      throw new Error(
        `expected ${count} webhook requests, got ${received.filter(filter).length}: ${received.map((r) => r.json.type).join(", ")}`,
      );
    },
    close: async () => {
      for (const release of hanging) release();
      await server.stop(true);
    },
  };
}

/** A port on 127.0.0.1 where nothing listens (connections are refused). */
export function refusingPort(): number {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port as number;
  s.stop(true);
  return port;
}
