import type { MiddlewareHandler } from "hono";
import { PosthornError } from "../../errors";
import type { AppEnv } from "../env";

const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;
const MULTIPART = /^multipart\/form-data\s*(;|$)/i;

/** A request that carries a body must say it is JSON (or multipart, for uploads): 415 otherwise. */
export const requireJsonBody = (): MiddlewareHandler<AppEnv> =>
  async function requireJsonBody(c, next) {
    const m = c.req.method;
    if (m === "POST" || m === "PUT" || m === "PATCH") {
      // Without Content-Length (chunked uploads, in-process requests) the body itself says.
      const length = c.req.header("Content-Length");
      const hasBody = length !== undefined ? length !== "0" : c.req.raw.body !== null;
      const type = c.req.header("Content-Type") ?? "";
      if (hasBody && !JSON_TYPE.test(type) && !MULTIPART.test(type)) {
        throw new PosthornError(
          "unsupported_media_type",
          `Send JSON with Content-Type: application/json (got "${type || "none"}").`,
        );
      }
    }
    await next();
  };
