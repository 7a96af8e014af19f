// A pipelined Postgres transaction commits only when every statement issued in it succeeded,
// whether or not the caller awaited them, and leaves its connection usable either way.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { PipelinedTransactions } from "../../../src/db/group-commit";
import { idempotencyKeyRow, TEST_DIALECT, type TempDatabase, tempDatabase } from "../../helpers/db";

if (TEST_DIALECT === "postgres")
  describe("pipelined transactions (postgres)", () => {
    let temp: TempDatabase;
    let tx: PipelinedTransactions;
    const tenant = "pipelined";
    const row = (key: string) => idempotencyKeyRow(tenant, key);
    const keys = async () =>
      (
        await temp.db.kysely
          .selectFrom("idempotency_keys")
          .select("key")
          .where("tenant_id", "=", tenant)
          .orderBy("key")
          .execute()
      ).map((r) => r.key);

    beforeAll(async () => {
      temp = await tempDatabase();
      tx = new PipelinedTransactions(temp.db.pg!);
    });
    afterAll(() => temp.cleanup());

    it("runs statements issued together in order and commits them", async () => {
      const out = await tx.run(async (trx) => {
        const a = trx.insertInto("idempotency_keys").values(row("a")).execute();
        const b = trx.insertInto("idempotency_keys").values(row("b")).execute();
        const seen = trx.selectFrom("idempotency_keys").select("key").where("tenant_id", "=", tenant).execute();
        await Promise.all([a, b]);
        return (await seen).map((r) => r.key).sort();
      });
      expect(out).toEqual(["a", "b"]);
      expect(await keys()).toEqual(["a", "b"]);
    });

    it("rolls everything back when a statement in the middle fails, even one nobody awaited", async () => {
      const failing = tx.run(async (trx) => {
        void trx
          .insertInto("idempotency_keys")
          .values(row("c"))
          .execute()
          .catch(() => {});
        void trx
          .insertInto("idempotency_keys")
          .values(row("a")) // exists: unique violation
          .execute()
          .catch(() => {});
        void trx
          .insertInto("idempotency_keys")
          .values(row("d"))
          .execute()
          .catch(() => {});
        return "returned before any answer";
      });
      await expect(failing).rejects.toMatchObject({ code: "23505" });
      expect(await keys()).toEqual(["a", "b"]);
    });

    it("rolls back when the caller throws, and the next transaction works", async () => {
      const thrown = tx.run(async (trx) => {
        await trx.insertInto("idempotency_keys").values(row("e")).execute();
        throw new Error("changed my mind");
      });
      await expect(thrown).rejects.toThrow("changed my mind");
      await tx.run(async (trx) => trx.insertInto("idempotency_keys").values(row("f")).execute());
      expect(await keys()).toEqual(["a", "b", "f"]);
    });
  });
