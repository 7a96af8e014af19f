// /t/o/{token} (the open pixel) and /t/c/{token} (a click's redirect), mounted at /t and served
// without an API key: the tokens are sealed (src/tracking/token.ts). The answer never waits on
// the database and never tells a genuine token from a forged one beyond what it must (a click
// either goes somewhere or it does not); the hit is recorded afterwards, gathered with others
// (src/engagement/recorder.ts).
import { type Context, Hono } from "hono";
import { getConnInfo } from "hono/bun";
import { describeRoute } from "hono-openapi";
import type { AppDeps } from "../../deps";
import { engagementRecorder, MAX_TRACKED_AGE_MS, stillTracked } from "../../engagement";
import { clickResponse, openPixelResponse, readClickToken, readOpenToken, type TrackingResponse } from "../../tracking";
import type { AppEnv } from "../env";
import { problemResponse, responseHeaders } from "../openapi";

const tags = ["Tracking"];
const NOTHING_RECORDED =
  "Nothing about the email is revealed, whatever the token. The hit is recorded after the answer, best-effort " +
  "(gathered with others; a hit can be lost if the server stops at that moment).";
const TOKEN_PARAMETER = {
  name: "token",
  in: "path" as const,
  required: true,
  description: "The sealed token from the email's html.",
  schema: { type: "string" as const },
};

const answer = (c: Context<AppEnv>, r: TrackingResponse) =>
  c.body(r.body as Uint8Array<ArrayBuffer> | string, r.status as 200, r.headers);

/**
 * A HEAD operation's responses: src/http/openapi-middleware.ts adds the request id, 500 and 503
 * to get/put/post/patch/delete only.
 */
function headResponses(responses: Record<number, object & { headers?: object }>) {
  const withId = Object.fromEntries(
    Object.entries(responses).map(([status, r]) => [
      status,
      { ...r, headers: { ...responseHeaders("X-Request-Id"), ...r.headers } },
    ]),
  );
  return {
    ...withId,
    500: problemResponse(500, responseHeaders("X-Request-Id")),
    503: problemResponse(503, responseHeaders("X-Request-Id", "Retry-After")),
  };
}

/** The client's address, only when the operator keeps it. */
function ipOf(c: Context<AppEnv>, keep: boolean): string | undefined {
  if (!keep) return undefined;
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined; // not served by Bun.serve (in-process requests)
  }
}

export function trackingApi(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const recorder = engagementRecorder(deps);
  const storeIp = deps.config.trackingStoreIp;

  const pixel = (c: Context<AppEnv>) => {
    const claim = readOpenToken(deps.secrets, c.req.param("token") ?? "");
    const at = Date.now();
    if (claim && stillTracked(claim.emailId, at)) {
      recorder.record({
        kind: "open",
        emailId: claim.emailId,
        recipient: claim.recipient,
        userAgent: c.req.header("User-Agent"),
        method: c.req.method,
        at,
        ip: ipOf(c, storeIp),
      });
    }
    return answer(c, openPixelResponse());
  };
  const pixelResponses = {
    200: {
      description: "A transparent 1×1 GIF (43 bytes), never cached",
      content: { "image/gif": { schema: { type: "string" as const, format: "binary" } } },
    },
  };
  app.get(
    "/o/:token",
    describeRoute({
      tags,
      summary: "Open pixel",
      operationId: "trackOpen",
      description:
        "The 1×1 transparent GIF at the end of a tracked email's html; fetching it records an open. The same " +
        `bytes for every token, genuine, forged or too old. ${NOTHING_RECORDED}`,
      parameters: [TOKEN_PARAMETER],
      responses: pixelResponses,
    }),
    pixel,
  );
  // Hono answers HEAD with the GET route above (so `c.req.method` is HEAD there); this one is
  // never reached and only documents it.
  app.on(
    "HEAD",
    "/o/:token",
    describeRoute({
      tags,
      summary: "Open pixel (HEAD)",
      operationId: "trackOpenHead",
      description: "The pixel's headers without its body. Recorded as a machine's open: no mail client sends HEAD.",
      parameters: [TOKEN_PARAMETER],
      responses: headResponses(pixelResponses),
    }),
    pixel,
  );

  const click = (c: Context<AppEnv>) => {
    const at = Date.now();
    const token = readClickToken(deps.secrets, c.req.param("token") ?? "");
    const claim = token && stillTracked(token.emailId, at) ? token : undefined;
    const response = clickResponse(claim?.url);
    if (claim && response.status === 302) {
      recorder.record({
        kind: "click",
        emailId: claim.emailId,
        recipient: claim.recipient,
        linkIndex: claim.linkIndex,
        url: claim.url,
        userAgent: c.req.header("User-Agent"),
        method: c.req.method,
        at,
        ip: ipOf(c, storeIp),
      });
    }
    return answer(c, response);
  };
  const clickResponses = {
    302: {
      description: "To the link's original URL",
      headers: {
        Location: {
          description: "The original URL (as written when it is visible ASCII, else its WHATWG serialization).",
          required: true,
          schema: { type: "string" as const },
        },
      },
    },
    404: {
      description: "Not a genuine link, or too old: a short page saying so",
      content: { "text/html": { schema: { type: "string" as const, examples: ["<!doctype html>…"] } } },
    },
  };
  app.get(
    "/c/:token",
    describeRoute({
      tags,
      summary: "Click redirect",
      operationId: "trackClick",
      description:
        "A tracked link: 302 to the exact URL the email's html had, which the token carries sealed (so it can only " +
        `ever lead where the email led). A forged or cut-short token, or a link in mail older than ${MAX_TRACKED_AGE_MS / 86_400_000} ` +
        `days, gets the 404. ${NOTHING_RECORDED}`,
      parameters: [TOKEN_PARAMETER],
      responses: clickResponses,
    }),
    click,
  );
  app.on(
    "HEAD",
    "/c/:token",
    describeRoute({
      tags,
      summary: "Click redirect (HEAD)",
      operationId: "trackClickHead",
      description: "The redirect without a body, as link checkers ask for it. Recorded as a machine's click.",
      parameters: [TOKEN_PARAMETER],
      responses: headResponses(clickResponses),
    }),
    click,
  );
  return app;
}
