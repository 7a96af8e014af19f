// Every query on templates and template_versions, named for what it does. Every lookup is
// scoped by tenant: another tenant's template id finds nothing.
import type { Kysely, Selectable } from "kysely";
import type { Database, TemplatesTable, TemplateVersionsTable } from "../db";

export type TemplateRow = Selectable<TemplatesTable>;
export type TemplateVersionRow = Selectable<TemplateVersionsTable>;
type Executor = Kysely<Database>;

export async function selectTemplate(db: Executor, tenantId: string, id: string): Promise<TemplateRow | undefined> {
  return db
    .selectFrom("templates")
    .selectAll()
    .where("tenant_id", "=", tenantId)
    .where("id", "=", id)
    .executeTakeFirst();
}

/** One version of the tenant's template; without `version`, the template's current one. */
export async function selectTemplateVersion(
  db: Executor,
  tenantId: string,
  templateId: string,
  version?: number,
): Promise<TemplateVersionRow | undefined> {
  let q = db
    .selectFrom("template_versions")
    .selectAll("template_versions")
    .where("template_versions.tenant_id", "=", tenantId)
    .where("template_versions.template_id", "=", templateId);
  if (version !== undefined) {
    q = q.where("template_versions.version", "=", version);
  } else {
    q = q
      .innerJoin("templates", "templates.id", "template_versions.template_id")
      .whereRef("template_versions.version", "=", "templates.current_version");
  }
  return q.executeTakeFirst();
}

/** Templates with their current version, newest first; `limit + 1` rows to tell whether more exist. */
export async function selectTemplatePage(
  db: Executor,
  tenantId: string,
  afterId: string | undefined,
  limit: number,
  withContent = false,
) {
  let q = db
    .selectFrom("templates")
    .innerJoin("template_versions", (j) =>
      j
        .onRef("template_versions.template_id", "=", "templates.id")
        .onRef("template_versions.version", "=", "templates.current_version"),
    )
    .select([
      "templates.id",
      "templates.name",
      "templates.current_version",
      "templates.created_at",
      "templates.updated_at",
      "template_versions.subject",
    ])
    // The bodies (up to 512 KB each, 200 templates a page) only when asked.
    .$if(withContent, (qb) => qb.select(["template_versions.html", "template_versions.text"]))
    .where("templates.tenant_id", "=", tenantId)
    .orderBy("templates.id", "desc")
    .limit(limit + 1);
  if (afterId) q = q.where("templates.id", "<", afterId);
  return q.execute();
}

/** Versions newest first, below `beforeVersion` when given; `limit + 1` rows; bodies only `withContent`. */
export async function selectVersionPage(
  db: Executor,
  templateId: string,
  beforeVersion: number | undefined,
  limit: number,
  withContent = false,
) {
  let q = db
    .selectFrom("template_versions")
    .select(["template_id", "version", "subject", "created_at"])
    .$if(withContent, (qb) => qb.select(["html", "text"]))
    .where("template_id", "=", templateId)
    .orderBy("version", "desc")
    .limit(limit + 1);
  if (beforeVersion !== undefined) q = q.where("version", "<", beforeVersion);
  return q.execute();
}

/**
 * Takes the next version number: the increment is the row lock (Postgres) or happens under
 * BEGIN IMMEDIATE (SQLite), so two concurrent updates get two different numbers.
 */
export async function bumpCurrentVersion(
  trx: Executor,
  tenantId: string,
  id: string,
  changes: { name?: string; now: number },
): Promise<number | undefined> {
  const row = await trx
    .updateTable("templates")
    .set((eb) => ({
      current_version: eb("current_version", "+", 1),
      updated_at: changes.now,
      ...(changes.name !== undefined ? { name: changes.name } : {}),
    }))
    .where("tenant_id", "=", tenantId)
    .where("id", "=", id)
    .returning("current_version")
    .executeTakeFirst();
  return row?.current_version;
}

export async function renameTemplate(trx: Executor, tenantId: string, id: string, name: string, now: number) {
  const r = await trx
    .updateTable("templates")
    .set({ name, updated_at: now })
    .where("tenant_id", "=", tenantId)
    .where("id", "=", id)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function deleteTemplateRow(db: Executor, tenantId: string, id: string): Promise<boolean> {
  const r = await db.deleteFrom("templates").where("tenant_id", "=", tenantId).where("id", "=", id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
