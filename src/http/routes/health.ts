import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from "../../db";
import type { AppDeps } from "../../deps";
import { PosthornError } from "../../errors";
import { named } from "../../validation";
import type { AppEnv } from "../env";
import { jsonResponse, problems } from "../openapi";

const Health = named(
  "Health",
  v.object({
    status: v.pipe(v.picklist(["ok", "ready"]), v.description("`ok` from /health, `ready` from /health/ready.")),
  }),
  { status: "ok" },
);

export function healthApi(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(
    "/health",
    describeRoute({
      tags: ["Health"],
      summary: "The process is alive",
      operationId: "getHealth",
      responses: { 200: jsonResponse("Alive", Health) },
    }),
    (c) => c.json({ status: "ok" }),
  );

  app.get(
    "/health/ready",
    describeRoute({
      tags: ["Health"],
      summary: "The database answers",
      operationId: "getReadiness",
      responses: { 200: jsonResponse("Ready to serve", Health), ...problems(503) },
    }),
    async (c) => {
      try {
        await deps.db.ping();
      } catch (err) {
        c.get("log").warn("readiness check failed", { err });
        throw new PosthornError("unavailable", "The database does not answer.", {
          retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS,
        });
      }
      return c.json({ status: "ready" });
    },
  );
  return app;
}
