// Browser-facing hardening for every response (hono's secureHeaders): no sniffing, no framing,
// no referrer, and a CSP that lets a JSON or problem+json answer load and run nothing. Pages
// that must run something (/docs, the unsubscribe page) send their own narrower CSP, which is
// kept (`overwrite: false`).
import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../env";

export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

export const securityHeaders = (): MiddlewareHandler<AppEnv> =>
  secureHeaders({
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    // Nothing of Posthorn's belongs in a frame, not even its own.
    xFrameOptions: "DENY",
    // HSTS (and includeSubDomains, hono's default) is for whoever terminates TLS for the domain,
    // not for a server that may be reached over plain HTTP on a private network.
    strictTransportSecurity: false,
    overwrite: false,
  });
