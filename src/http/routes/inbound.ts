// What came back to the tenant's bounce domains: every message received, matched or not, with why.
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { AppDeps } from "../../deps";
import {
  getInboundMessage,
  InboundMessageDetailSchema,
  InboundMessageSchema,
  listInboundMessages,
} from "../../inbound";
import type { AppEnv } from "../env";
import { jsonResponse, PageQuery, pageOf, problems, TENANT_SECURITY } from "../openapi";
import { queryParams } from "../validate";

const ListInboundQuery = v.object({
  ...PageQuery.entries,
  matched: v.optional(
    v.pipe(
      v.picklist(["true", "false"]),
      v.description(
        "`false`: only messages tied to none of your emails (with why, in `outcome`); `true`: only matched ones.",
      ),
    ),
  ),
});

const tags = ["Inbound"];

export function inboundApi(deps: AppDeps) {
  const db = deps.db.kysely;
  const r = new Hono<AppEnv>();

  r.get(
    "/",
    describeRoute({
      tags,
      summary: "List inbound messages",
      operationId: "listInboundMessages",
      description:
        "Bounces, complaints and auto-replies received at your bounce domains (docs/feedback.md), newest first. " +
        "A message that matched none of your emails is listed under the tenant whose bounce domain received it.",
      security: TENANT_SECURITY,
      responses: {
        200: jsonResponse("A page of inbound messages", pageOf(InboundMessageSchema, "InboundMessagePage")),
        ...problems(401, 422),
      },
    }),
    queryParams(ListInboundQuery),
    async (c) => {
      const q = c.req.valid("query");
      const matched = q.matched === undefined ? undefined : q.matched === "true";
      return c.json(await listInboundMessages(db, c.get("tenantId"), { limit: q.limit, cursor: q.cursor, matched }));
    },
  );

  r.get(
    "/:id",
    describeRoute({
      tags,
      summary: "Get an inbound message",
      operationId: "getInboundMessage",
      description: "With the message as it was received (`raw`), so one that matched nothing can be read.",
      security: TENANT_SECURITY,
      responses: { 200: jsonResponse("The inbound message", InboundMessageDetailSchema), ...problems(401, 404) },
    }),
    async (c) => c.json(await getInboundMessage(db, c.get("tenantId"), c.req.param("id"))),
  );

  return r;
}
