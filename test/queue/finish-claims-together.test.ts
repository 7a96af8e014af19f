// Outcomes written together (Postgres): one fenced UPDATE for every email of a flush, one
// INSERT for the attempts, one upsert for the statistics — the same rows finishClaim writes
// one outcome at a time, and nothing for an outcome whose lease was lost.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { PipelinedTransactions } from "../../src/db/group-commit";
import { claimDueEmails } from "../../src/queue/claim-due-emails";
import { finishClaimsTogether } from "../../src/queue/finish-claims-together";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { sentOutcome } from "../helpers/outcomes";
import { sendEmail } from "../helpers/sending";

if (TEST_DIALECT === "postgres")
  describe("finishing claims together (postgres)", () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp();
    });
    afterAll(() => t.close());

    const sent = (emailId: string, tenantId: string, token: string) =>
      sentOutcome({
        emailId,
        tenantId,
        token,
        smtpAccountId: "sa_together",
        recipientsJson: JSON.stringify([{ email: "a@example.com", status: "sent" }]),
      });

    it("writes every kept outcome in one go and nothing for one whose lease was lost", async () => {
      const { key, tenantId } = await t.createTenantWithKey("together");
      const ids = [await sendEmail(t, key), await sendEmail(t, key)];
      const { db } = t.temp;
      await db.kysely.updateTable("emails").set({ run_at: 0, hold: null }).where("id", "in", ids).execute();
      const rows = await claimDueEmails(db, t.deps.batcher, { limit: 10, leaseMs: 60_000, token: "tok-together" });
      const [a, b] = ids.map((id) => rows.find((r) => r.id === id)!);
      const writer = finishClaimsTogether(db.kysely, (trx, kept) => t.deps.events.writeFinishedTogether(trx, kept));
      const answers = await new PipelinedTransactions(db.pg!).run((trx) =>
        writer.writeAll(
          trx,
          [
            { outcome: sent(a!.id, tenantId, "tok-together"), row: a!, shard: 0 },
            { outcome: sent(b!.id, tenantId, "somebody-else"), row: b!, shard: 0 },
          ],
          { slot: 0 },
        ),
      );
      expect(answers).toEqual([
        { ok: true, value: true },
        { ok: true, value: false },
      ]);
      const states = await db.kysely
        .selectFrom("emails")
        .select(["id", "status", "attempts", "lease_token"])
        .where("id", "in", ids)
        .execute();
      const stateOf = (id: string) => states.find((r) => r.id === id);
      expect(stateOf(a!.id)).toEqual({ id: a!.id, status: "sent", attempts: 1, lease_token: null });
      expect(stateOf(b!.id)).toEqual({ id: b!.id, status: "sending", attempts: 0, lease_token: "tok-together" });
      const attempts = await db.kysely
        .selectFrom("email_attempts")
        .select("email_id")
        .where("email_id", "in", ids)
        .execute();
      expect(attempts).toEqual([{ email_id: a!.id }]);
      const stats = await db.kysely
        .selectFrom("stats_rollups")
        .select((eb) => eb.fn.sum<number>("sent").as("sent"))
        .where("tenant_id", "=", tenantId)
        .executeTakeFirstOrThrow();
      expect(Number(stats.sent)).toBe(1);
    });
  });
