// /openapi.json and the Scalar reference at /docs, served entirely from inside the binary:
// no CDN, no hosted proxy, no font host (an air-gapped VPS must still show its docs, and an
// API key typed into the try-it client must go only to this server).
import { Scalar } from "@scalar/hono-api-reference";
import type { Hono } from "hono";
// Embedded by `bun build --compile`; a path to the file in development.
// @ts-expect-error: a plain JS bundle imported as a file, so it has no types.
import scalarBundlePath from "../../../node_modules/@scalar/api-reference/dist/browser/standalone.js" with {
  type: "file",
};
import type { AppEnv } from "../env";

const SCALAR_PATH = "/docs/scalar.js";
let scalarGzipped: Uint8Array<ArrayBuffer> | undefined;

/** Gzipped once, on first request, so cold start does not pay for it. */
async function scalarBundle(): Promise<Uint8Array<ArrayBuffer>> {
  scalarGzipped ??= Bun.gzipSync(
    new Uint8Array(await Bun.file(scalarBundlePath as string).arrayBuffer()),
  ) as Uint8Array<ArrayBuffer>;
  return scalarGzipped;
}

export function bindDocsApi(app: Hono<AppEnv>, openApiDocument: () => Promise<unknown>) {
  app.get("/openapi.json", async (c) => c.json(await openApiDocument()));

  app.get(SCALAR_PATH, async (c) => {
    const gz = await scalarBundle();
    const headers = { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "public, max-age=86400" };
    if (/\bgzip\b/.test(c.req.header("Accept-Encoding") ?? "")) {
      return c.body(gz, 200, { ...headers, "Content-Encoding": "gzip", Vary: "Accept-Encoding" });
    }
    return c.body(Bun.gunzipSync(gz) as Uint8Array<ArrayBuffer>, 200, headers);
  });

  app.get(
    "/docs",
    Scalar({
      url: "/openapi.json",
      cdn: SCALAR_PATH,
      pageTitle: "Posthorn API",
      withDefaultFonts: false,
      telemetry: false,
      showDeveloperTools: "never",
      agent: { disabled: true },
      mcp: { disabled: true },
      hideClientButton: true,
      persistAuth: true,
    }),
  );
}
