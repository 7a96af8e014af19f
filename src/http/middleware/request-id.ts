import type { MiddlewareHandler } from "hono";
import { randomChars } from "../../ids";
import type { Logger } from "../../logger";
import type { AppEnv } from "../env";

const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Gives every request an id (the caller's X-Request-Id when sane), echoed in the response. */
export const requestId = (log: Logger): MiddlewareHandler<AppEnv> =>
  async function requestId(c, next) {
    const incoming = c.req.header("X-Request-Id");
    const id = incoming && ACCEPTABLE_ID.test(incoming) ? incoming : `req_${randomChars(20)}`;
    c.set("requestId", id);
    c.set("log", log.child({ request_id: id }));
    c.header("X-Request-Id", id);
    await next();
  };
