// Hot-path queries compiled once (src/db/reusable-query.ts): they run with the values given, in
// the right parameter order, and their placeholders are typed, so a wrong column or a value of
// the wrong type is a compile error (`bun run typecheck` checks the @ts-expect-error lines).
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { Kysely } from "kysely";
import { reusableForList, reusableInsert, reusableQuery } from "../../src/db/reusable-query";
import type { Database } from "../../src/db/schema";
import { TEST_DIALECT, type TempDatabase, tempDatabase } from "../helpers/db";

describe(`reusable queries (${TEST_DIALECT})`, () => {
  let temp: TempDatabase;
  let db: Kysely<Database>;
  beforeAll(async () => {
    temp = await tempDatabase();
    db = temp.db.kysely;
    await db.insertInto("tenants").values({ id: "ten_a", name: "A", created_at: 1 }).execute();
  });
  afterAll(() => temp.cleanup());

  it("runs one compiled query with each call's values, in the parameter order the SQL needs", async () => {
    const rename = reusableQuery(["id", "name"], (p: { id: string; name: string }) =>
      db.updateTable("tenants").set({ name: p.name }).where("id", "=", p.id),
    );
    await db.executeQuery(rename({ name: "B", id: "ten_a" }));
    expect((await db.selectFrom("tenants").select("name").executeTakeFirstOrThrow()).name).toBe("B");
    await db.executeQuery(rename({ id: "ten_a", name: "C" }));
    expect((await db.selectFrom("tenants").select("name").executeTakeFirstOrThrow()).name).toBe("C");
  });

  it("compiles a list query once per list length", async () => {
    const named = reusableForList(["after"], (p: { after: number }, ids: string[]) =>
      db.selectFrom("tenants").select("id").where("created_at", ">=", p.after).where("id", "in", ids),
    );
    const { rows } = await db.executeQuery(named({ after: 0 }, ["ten_a", "ten_b"]));
    expect(rows.map((r) => r.id)).toEqual(["ten_a"]);
  });

  it("inserts a row through one compiled statement per set of columns", async () => {
    const insertTenant = reusableInsert("tenants")(db);
    await db.executeQuery(insertTenant({ id: "ten_z", name: "Z", created_at: 2 }));
    expect(await db.selectFrom("tenants").select("id").where("id", "=", "ten_z").executeTakeFirst()).toEqual({
      id: "ten_z",
    });
  });
});

/** Never run: each line must fail to compile, or the typecheck fails (the @ts-expect-error is unused). */
export function placeholdersAreTyped(db: Kysely<Database>) {
  const rename = reusableQuery(["id", "name"], (p: { id: string; name: string }) =>
    db.updateTable("tenants").set({ name: p.name }).where("id", "=", p.id),
  );
  // @ts-expect-error: a value of the wrong type for a placeholder
  rename({ id: "ten_a", name: 42 });
  // @ts-expect-error: a placeholder left out
  rename({ id: "ten_a" });
  // @ts-expect-error: a name the placeholders do not have
  reusableQuery(["nope"], (p: { id: string }) => db.selectFrom("tenants").selectAll().where("id", "=", p.id));
  // @ts-expect-error: a number placeholder cannot set a text column
  reusableQuery(["n"], (p: { n: number }) => db.updateTable("tenants").set({ name: p.n }));
  // @ts-expect-error: no such column
  reusableQuery(["n"], (p: { n: string }) => db.updateTable("tenants").set({ title: p.n }));
  // @ts-expect-error: a row the table does not have
  reusableInsert("tenants")(db)({ id: "ten_b", label: "B", created_at: 1 });
}
