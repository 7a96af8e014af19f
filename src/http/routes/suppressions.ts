// The tenant's suppression list: addresses mail is never attempted to.
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { AppDeps } from "../../deps";
import {
  addSuppression,
  CreateSuppressionSchema,
  getSuppression,
  listSuppressions,
  removeSuppression,
  SuppressionReasonSchema,
  SuppressionSchema,
} from "../../suppressions";
import type { AppEnv } from "../env";
import { jsonResponse, PageQuery, pageOf, problems, TENANT_SECURITY } from "../openapi";
import { jsonBody, queryParams } from "../validate";

const ListSuppressionsQuery = v.object({
  limit: PageQuery.entries.limit,
  // Longer than other cursors: it carries an address.
  cursor: v.optional(v.pipe(v.string(), v.maxLength(600), v.description("`next_cursor` of the previous page."))),
  reason: v.optional(SuppressionReasonSchema),
  q: v.optional(
    v.pipe(v.string(), v.maxLength(254), v.description("Only addresses that start with this (case-insensitive).")),
  ),
});

const EmailParam = [
  {
    name: "email",
    in: "path" as const,
    required: true,
    description: "The address, URL-encoded (`ada%40example.com`); matched case-insensitively.",
    schema: { type: "string" as const },
  },
];

const tags = ["Suppressions"];

export function suppressionsApi(deps: AppDeps) {
  const db = deps.db.kysely;
  const r = new Hono<AppEnv>();

  r.get(
    "/",
    describeRoute({
      tags,
      summary: "List suppressed addresses",
      operationId: "listSuppressions",
      description: "Newest first. Filter by `reason`, or by the start of the address with `q`.",
      security: TENANT_SECURITY,
      responses: {
        200: jsonResponse("A page of suppressions", pageOf(SuppressionSchema, "SuppressionPage")),
        ...problems(401, 422),
      },
    }),
    queryParams(ListSuppressionsQuery),
    async (c) => c.json(await listSuppressions(db, c.get("tenantId"), c.req.valid("query"))),
  );

  r.post(
    "/",
    describeRoute({
      tags,
      summary: "Suppress an address",
      operationId: "createSuppression",
      description:
        "Mail to a suppressed address is not attempted (the email's recipient shows `suppressed`). " +
        "Adding an address already on the list is not an error: it answers 200 with the entry, " +
        "whose reason and detail are replaced by these; a new entry answers 201.",
      security: TENANT_SECURITY,
      responses: {
        200: jsonResponse("Already on the list (updated)", SuppressionSchema),
        201: jsonResponse("Added", SuppressionSchema),
        ...problems(401, 422),
      },
    }),
    jsonBody(CreateSuppressionSchema),
    async (c) => {
      const body = c.req.valid("json");
      const { suppression, created } = await addSuppression(db, c.get("tenantId"), {
        email: body.email,
        reason: body.reason,
        detail: body.detail ?? null,
      });
      return c.json(suppression, created ? 201 : 200);
    },
  );

  r.get(
    "/:email",
    describeRoute({
      tags,
      summary: "Get a suppressed address",
      operationId: "getSuppression",
      security: TENANT_SECURITY,
      parameters: EmailParam,
      responses: { 200: jsonResponse("The suppression", SuppressionSchema), ...problems(401, 404, 422) },
    }),
    async (c) => c.json(await getSuppression(db, c.get("tenantId"), c.req.param("email"))),
  );

  r.delete(
    "/:email",
    describeRoute({
      tags,
      summary: "Remove an address from the list",
      operationId: "deleteSuppression",
      description: "Later mail to it is attempted again.",
      security: TENANT_SECURITY,
      parameters: EmailParam,
      responses: { 204: { description: "Removed" }, ...problems(401, 404, 422) },
    }),
    async (c) => {
      await removeSuppression(db, c.get("tenantId"), c.req.param("email"));
      return c.body(null, 204);
    },
  );

  return r;
}
