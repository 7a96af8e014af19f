// End to end through a real MTA: Posthorn sends through a private Postfix (the relay) with a
// bounce domain; Postfix takes the mail for a user it does not have, fails it in local delivery,
// and mails its DSN to the return path — whose domain it routes to an in-process smtp-server.
// The DSN must come back addressed to that VERP address and name the email and the recipient.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { parseFeedbackMessage, readReturnPath, recipientOfClaim } from "../../src/feedback";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import * as postfix from "../helpers/postfix";
import { anEmail, createSmtpAccount, sendEmail, waitForStatus } from "../helpers/sending";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";

const BOUNCE_DOMAIN = "bounce.posthorn.test";
const DSN_WAIT_MS = 15_000;

describe(`return paths through a real Postfix relay (${TEST_DIALECT})`, () => {
  const availability = postfix.available();
  let t: TestApp;
  let bounces: TestSmtpServer;
  let relay: postfix.PostfixRelay;

  beforeAll(async () => {
    // Never skipped: Postfix is installed here and in CI (.ci/run); if it cannot run, say why.
    if (!availability.ok) throw new Error(`Postfix is needed for this suite: ${availability.reason}`);
    bounces = await startSmtpServer({ hideStartTls: true });
    relay = await postfix.start({ routes: { [BOUNCE_DOMAIN]: bounces.port } });
    t = await createTestApp({}, { dispatch: true });
  }, 30_000);

  afterAll(async () => {
    await t?.close();
    await relay?.stop();
    await bounces?.close();
  });

  it("gets Postfix's DSN for each failed recipient back at that recipient's VERP address, naming the email and the recipient", async () => {
    const { key } = await t.createTenantWithKey();
    await createSmtpAccount(t, key, relay, { bounce_domain: BOUNCE_DOMAIN });
    // The relay takes both and fails both after its 250: it relays nothing (example.com) and has no
    // such local user — one DSN each, to each one's own return path.
    const elsewhere = "ada@example.com";
    const ghost = `nobody@${relay.localDomain}`;
    const recipients = [elsewhere, ghost];
    const id = await sendEmail(t, key, anEmail({ to: recipients }));
    const email = await waitForStatus(t, key, id, ["sent", "failed"], 15_000);
    expect(email.status).toBe("sent");
    expect(email.recipients.map((r) => r.status)).toEqual(["sent", "sent"]);

    const dsns = await bounces.waitForMessages(2, DSN_WAIT_MS).catch((err: Error) => {
      throw new Error(`${err.message}\n${relay.log()}`);
    });
    const seen = new Map<string, string>();
    for (const dsn of dsns) {
      expect(dsn.envelope.from).toBe(""); // the null sender
      expect(dsn.envelope.to).toHaveLength(1);
      const verp = dsn.envelope.to[0]!;
      expect(verp).toMatch(/^bounces\+[0-9a-z]+@bounce\.posthorn\.test$/);
      const claim = readReturnPath(t.deps.secrets, verp);
      expect(claim?.emailId).toBe(id);
      const recipient = recipientOfClaim(claim!, recipients)!;

      const parsed = await parseFeedbackMessage(dsn.raw, { secrets: t.deps.secrets, envelopeTo: dsn.envelope.to });
      expect(parsed.kind).toBe("dsn");
      if (parsed.kind !== "dsn") return;
      expect(parsed.returnPaths).toEqual([{ emailId: id, recipientIndex: claim!.recipientIndex!, address: verp }]);
      expect(parsed.envelopeId).toBe(id);
      expect(parsed.original.emailId).toBe(id);
      // The report is about exactly the recipient the return path names.
      expect(parsed.recipients.map((r) => r.recipient)).toEqual([recipient]);
      seen.set(recipient, parsed.recipients[0]!.status ?? "");
    }
    expect([...seen.keys()].sort()).toEqual([...recipients].sort());
    expect(seen.get(ghost)).toBe("5.1.1");
  }, 40_000);
});
