// /openapi.json and the Scalar reference at /docs, served entirely from inside the binary:
// no CDN, no hosted proxy, no font host (an air-gapped VPS must still show its docs, and an
// API key typed into the try-it client must go only to this server).

import { createHash } from "node:crypto";
import { Scalar } from "@scalar/hono-api-reference";
import { Hono, type MiddlewareHandler } from "hono";
// Embedded by `bun build --compile`; a path to the file in development.
// @ts-expect-error: a plain JS bundle imported as a file, so it has no types.
import scalarBundlePath from "../../../node_modules/@scalar/api-reference/dist/browser/standalone.js" with {
  type: "file",
};
import type { AppEnv } from "../env";

const SCALAR_PATH = "/docs/scalar.js";
/**
 * Run before the bundle: the Zod inside it probes for eval with `Function("")` to compile its
 * parsers, which the page's CSP refuses (and reports as a violation). Jitless from the start, it
 * never asks, so a violation on /docs always means something real.
 */
const SCALAR_PRELUDE = "globalThis.__zod_globalConfig ??= { jitless: true };\n";
let scalarGzipped: Uint8Array<ArrayBuffer> | undefined;

/** Gzipped once, on first request, so cold start does not pay for it. */
async function scalarBundle(): Promise<Uint8Array<ArrayBuffer>> {
  if (!scalarGzipped) {
    const bundle = await Bun.file(scalarBundlePath as string).bytes();
    scalarGzipped = Bun.gzipSync(Buffer.concat([Buffer.from(SCALAR_PRELUDE), bundle])) as Uint8Array<ArrayBuffer>;
  }
  return scalarGzipped;
}

export function docsApi(openApiDocument: () => Promise<unknown>): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/openapi.json", async (c) => c.json(await openApiDocument()));

  app.get(SCALAR_PATH, async (c) => {
    const gz = await scalarBundle();
    const headers = { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "public, max-age=86400" };
    if (/\bgzip\b/.test(c.req.header("Accept-Encoding") ?? "")) {
      return c.body(gz, 200, { ...headers, "Content-Encoding": "gzip", Vary: "Accept-Encoding" });
    }
    return c.body(Bun.gunzipSync(gz) as Uint8Array<ArrayBuffer>, 200, headers);
  });

  const scalarPage: MiddlewareHandler<AppEnv> = Scalar({
    url: "/openapi.json",
    cdn: SCALAR_PATH,
    pageTitle: "Posthorn API",
    withDefaultFonts: false,
    telemetry: false,
    showDeveloperTools: "never",
    agent: { disabled: true },
    mcp: { disabled: true },
    hideClientButton: true,
    // An API key typed into the try-it client stays in that tab only: in localStorage it would
    // outlive the session and be readable by any script on this origin.
    persistAuth: false,
    // The try-it client opens on the tenant API key, the scheme nearly every operation uses.
    authentication: { preferredSecurityScheme: "ApiKey" },
  });
  let page: Promise<{ html: string; csp: string }> | undefined;
  app.get("/docs", async (c) => {
    page ??= Promise.resolve(scalarPage(c, async () => {}))
      .then((res) => (res as Response).text())
      .then((html) => ({ html, csp: docsPolicy(html) }));
    const { html, csp } = await page;
    return c.html(html, 200, { "Content-Security-Policy": csp });
  });
  return app;
}

/**
 * The page runs the bundle from this server and Scalar's own inline start-up script, allowed by
 * its hash (the page is the same for every request), and talks only to this server. Scalar
 * styles itself with inline styles, so those are allowed; no frames, forms or other origins.
 */
export function docsPolicy(html: string): string {
  const inline = [...html.matchAll(/<script\b(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi)].map(
    (m) => `'sha256-${createHash("sha256").update(m[1]!).digest("base64")}'`,
  );
  return [
    "default-src 'none'",
    `script-src 'self' ${inline.join(" ")}`.trim(),
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}
