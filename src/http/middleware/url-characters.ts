// A NUL (%00) in a path id or a query value can name nothing we store (Postgres text cannot
// even hold it): refused here, the same on both dialects, before any route reads the URL.
import type { MiddlewareHandler } from "hono";
import { PosthornError } from "../../errors";
import type { AppEnv } from "../env";

export const refuseNulInUrl = (): MiddlewareHandler<AppEnv> =>
  async function refuseNulInUrl(c, next) {
    if (/%00/i.test(c.req.url) || c.req.url.includes("\0")) {
      throw new PosthornError("bad_request", "The URL holds a NUL character (%00), which no id or filter can contain.");
    }
    await next();
  };
