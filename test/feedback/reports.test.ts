// Reading what arrives at the return path, from stored real-world formats (fixtures/*.eml): a DSN
// Postfix produced in a live run, Gmail, Office 365, old Exchange, qmail, Exim, Postfix without
// DSN, an ARF complaint, an out-of-office reply, a failed DSN with 4.x.x statuses — and hostile
// or broken input, which always yields a value, never a throw.
import { describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { parseSecretKey, SecretBox } from "../../src/crypto/secret-box";
import {
  type FeedbackMessage,
  MAX_FEEDBACK_BYTES,
  parseFeedbackMessage,
  type RecipientReport,
} from "../../src/feedback";

/** The key the fixtures' return paths were signed with, and the email id they name. */
const secrets = new SecretBox(parseSecretKey("fixtures", "11".repeat(32)));
const EMAIL_ID = "em_01kbk6h5b8r3m2x4y7z9a0c1d2";
const RETURN_PATH_0 = "bounces+r01kbk6h5b8r3m2x4y7z9a0c1d209d45nc4k2mn9g@bounce.posthorn.test";

const fixture = (name: string) => readFileSync(join(import.meta.dir, "fixtures", name));
const parse = (name: string, envelopeTo?: string[]) => parseFeedbackMessage(fixture(name), { secrets, envelopeTo });

function recipientsOf(parsed: FeedbackMessage): RecipientReport[] {
  if (parsed.kind !== "dsn" && parsed.kind !== "text_bounce") throw new Error(`expected a bounce, got ${parsed.kind}`);
  return parsed.recipients;
}
const outcomes = (parsed: FeedbackMessage) => recipientsOf(parsed).map((r) => [r.recipient, r.outcome]);

describe("RFC 3464 delivery status notifications", () => {
  it("reads Postfix's DSN (captured live): message fields, the recipient's 5.1.1 hard bounce, and the original", async () => {
    const parsed = await parse("postfix-dsn-live.eml", [RETURN_PATH_0]);
    expect(parsed).toMatchObject({
      kind: "dsn",
      envelopeId: EMAIL_ID,
      reportingMta: "relay.test",
      arrivalAt: new Date("2026-12-02T18:00:47Z"),
      returnPaths: [{ emailId: EMAIL_ID, recipientIndex: 0, address: RETURN_PATH_0 }],
      original: { messageId: "order-shipped.3301@posthorn.test", emailId: EMAIL_ID },
    });
    expect(recipientsOf(parsed)).toEqual([
      {
        outcome: "hard_bounce",
        recipient: "departed@users.relay.test",
        originalRecipient: "departed@users.relay.test",
        action: "failed",
        status: "5.1.1",
        diagnostic: { type: "x-postfix", text: "mailbox unavailable on the test relay" },
      },
    ]);
  });

  it("finds the return path in the report's own headers when no envelope is given (a polled mailbox)", async () => {
    const parsed = await parse("postfix-dsn-live.eml");
    expect(parsed.returnPaths.map((m) => m.address)).toEqual([RETURN_PATH_0]);
  });

  it("reads Gmail's DSN: the SMTP diagnostic, the Remote-MTA without its comment, the returned message/rfc822", async () => {
    const parsed = await parse("gmail-dsn.eml");
    expect(parsed.kind).toBe("dsn");
    expect(parsed.original).toMatchObject({ messageId: "welcome.4f1c@posthorn.test", emailId: EMAIL_ID });
    const [gone] = recipientsOf(parsed);
    expect(gone).toMatchObject({
      outcome: "hard_bounce",
      recipient: "gone@example.org",
      status: "5.1.1",
      remoteMta: "mx.example.org",
      lastAttemptAt: new Date("2026-12-01T18:21:07Z"),
    });
    expect(gone?.diagnostic).toEqual({
      type: "smtp",
      text: "550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown in virtual mailbox table",
    });
  });

  it("reads Office 365's NDR: a three-digit detail code (5.1.10) is still a permanent failure", async () => {
    const parsed = await parse("office365-ndr.eml");
    expect(parsed).toMatchObject({ kind: "dsn", reportingMta: "AM6PR02MB1234.eurprd02.prod.outlook.com" });
    expect(recipientsOf(parsed)).toEqual([
      expect.objectContaining({ outcome: "hard_bounce", recipient: "j.doe@contoso.com", status: "5.1.10" }),
    ]);
    expect(parsed.original.emailId).toBe(EMAIL_ID);
  });

  it("never makes a hard bounce of a failure with a 4.x.x status, a 4xx reply under a 5.x.x status, or no status", async () => {
    const parsed = await parse("failed-4xx-dsn.eml");
    expect(outcomes(parsed)).toEqual([
      ["full@example.net", "soft_bounce"],
      ["expired@example.net", "soft_bounce"],
      ["odd@example.net", "soft_bounce"],
      ["nostatus@example.net", "soft_bounce"],
    ]);
    expect(recipientsOf(parsed)[1]?.diagnostic?.text).toBe(
      "connect to mx.example.net[192.0.2.9]:25: Connection timed out",
    );
  });

  it("reads a DSN whose headers are huge (500 Received lines, a 30 KB folded field, a long Diagnostic-Code)", async () => {
    const raw = fixture("huge-headers-dsn.eml");
    expect(raw.length).toBeGreaterThan(100_000);
    const parsed = await parseFeedbackMessage(raw, { secrets });
    expect(parsed.kind).toBe("dsn");
    const [departed] = recipientsOf(parsed);
    expect(departed).toMatchObject({ outcome: "hard_bounce", status: "5.1.1" });
    expect(departed?.diagnostic?.text.length).toBeLessThanOrEqual(2000);
  });
});

describe("RFC 5965 feedback reports", () => {
  it("reads a Yahoo-style ARF complaint: its fields, the complaining address and the returned message", async () => {
    const parsed = await parse("arf-yahoo-complaint.eml", ["fbl@bounce.posthorn.test"]);
    expect(parsed).toMatchObject({
      kind: "complaint",
      feedbackType: "abuse",
      userAgent: "Yahoo!-Mail-Feedback/2.0",
      originalRcptTo: ["reader@yahoo.com"],
      sourceIp: "198.51.100.25",
      arrivalAt: new Date("2026-12-01T09:10:02Z"),
      original: { messageId: "newsletter-2026-12.4f1c@posthorn.test", emailId: EMAIL_ID },
    });
  });

  it("finds the signed return path in the complaint's Original-Mail-From although the report came to the FBL address", async () => {
    const parsed = await parse("arf-yahoo-complaint.eml", ["fbl@bounce.posthorn.test"]);
    expect(parsed.returnPaths).toEqual([
      expect.objectContaining({ emailId: EMAIL_ID, recipientDigest: expect.any(String) }),
    ]);
  });
});

describe("bounces in prose from servers without DSN", () => {
  it("reads qmail's notice: 5.1.1 is hard, a 552 with 4.2.2 beside it is soft, no code at all is soft", async () => {
    const parsed = await parse("qmail.eml");
    expect(parsed).toMatchObject({ kind: "text_bounce", format: "qmail" });
    expect(outcomes(parsed)).toEqual([
      ["nobody-here@example.net", "hard_bounce"],
      ["over-quota@example.net", "soft_bounce"],
      ["somebody@example.net", "soft_bounce"],
    ]);
    expect(parsed.original).toMatchObject({ messageId: "winter-sale.81@posthorn.test", emailId: EMAIL_ID });
  });

  it("reads Exim's notice and the returned headers after its copy marker", async () => {
    const parsed = await parse("exim-text.eml");
    expect(parsed).toMatchObject({ kind: "text_bounce", format: "exim" });
    expect(recipientsOf(parsed)).toEqual([
      expect.objectContaining({ recipient: "ghost@example.com", outcome: "hard_bounce", status: "5.1.1" }),
    ]);
    expect(parsed.original.messageId).toBe("receipt-5521@posthorn.test");
  });

  it("reads Postfix's notice from before DSNs, by the return path in its To header", async () => {
    const parsed = await parse("postfix-text-nodsn.eml");
    expect(parsed).toMatchObject({ kind: "text_bounce", format: "postfix" });
    expect(outcomes(parsed)).toEqual([["left-company@example.org", "hard_bounce"]]);
    expect(parsed.returnPaths).toEqual([expect.objectContaining({ emailId: EMAIL_ID, recipientIndex: 1 })]);
  });

  it("reads old Exchange's notice: #5.1.1 next to one recipient is hard, #4.2.2 next to the other is soft", async () => {
    const parsed = await parse("exchange-2003-text.eml");
    expect(parsed).toMatchObject({ kind: "text_bounce", format: "exchange" });
    expect(outcomes(parsed)).toEqual([
      ["pat.smith@example.org", "hard_bounce"],
      ["lee.wong@example.org", "soft_bounce"],
    ]);
  });

  it("reads Gmail's old text-only failure notice", async () => {
    const parsed = await parse("gmail-text-failure.eml");
    expect(parsed).toMatchObject({ kind: "text_bounce", format: "gmail" });
    expect(outcomes(parsed)).toEqual([["olduser@example.net", "hard_bounce"]]);
    expect(parsed.original.emailId).toBe(EMAIL_ID);
  });

  it("calls a prose notice that says delivery is still being retried delayed, whatever codes it shows", async () => {
    const notice = Buffer.from(
      [
        "From: MAILER-DAEMON@mail.example.org",
        "To: bounces@bounce.posthorn.test",
        "Subject: Delayed Mail (still being retried)",
        "",
        "This is the Postfix program at host mail.example.org.",
        "",
        "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #",
        "",
        "<slow@example.org>: host mx.example.org[192.0.2.7] said: 451 4.7.1 Try again later",
        "",
      ].join("\r\n"),
    );
    const parsed = await parseFeedbackMessage(notice, { secrets });
    expect(outcomes(parsed)).toEqual([["slow@example.org", "delayed"]]);
  });

  it("does not read a person's message as a bounce because it mentions an address and a 550", async () => {
    const letter = Buffer.from(
      "From: Ann <ann@example.com>\r\nTo: news@posthorn.test\r\nSubject: Re: hello\r\n\r\n" +
        "My colleague bob@example.com says your mail could not be delivered: 550 5.1.1.\r\n",
    );
    const parsed = await parseFeedbackMessage(letter, { secrets });
    expect(parsed.kind).toBe("unknown");
  });
});

describe("auto-replies", () => {
  it("recognises an out-of-office reply (RFC 3834 Auto-Submitted) so the caller can ignore it", async () => {
    const parsed = await parse("out-of-office.eml");
    expect(parsed).toMatchObject({ kind: "auto_reply", reason: "Auto-Submitted: auto-replied" });
  });

  it("recognises vacation replies by X-Autoreply, Precedence: auto_reply or their subject alone", async () => {
    const reply = (headers: string) =>
      parseFeedbackMessage(Buffer.from(`From: a@example.com\r\nTo: b@posthorn.test\r\n${headers}\r\n\r\nAway.\r\n`), {
        secrets,
      });
    expect((await reply("Subject: hi\r\nX-Autoreply: yes")).kind).toBe("auto_reply");
    expect((await reply("Subject: hi\r\nPrecedence: auto_reply")).kind).toBe("auto_reply");
    expect((await reply("Subject: Automatic reply: your order")).kind).toBe("auto_reply");
    expect((await reply("Subject: Abwesenheitsnotiz")).kind).toBe("auto_reply");
    expect((await reply("Subject: hi\r\nAuto-Submitted: no")).kind).toBe("unknown");
  });
});

describe("broken and hostile input", () => {
  it("answers malformed MIME (empty boundary, bad base64, binary bytes) with a value saying why", async () => {
    const parsed = await parse("malformed-mime.eml");
    expect(parsed.kind).toBe("unknown");
    if (parsed.kind === "unknown") expect(parsed.reason).toBeString();
  });

  it("answers binary garbage, an empty message and a header-only message with unknown", async () => {
    for (const raw of [
      new Uint8Array(0),
      new Uint8Array(4096).fill(0xff),
      Buffer.from("\x00\x01\x02garbage"),
      Buffer.from("Subject: x"),
    ]) {
      expect((await parseFeedbackMessage(raw, { secrets })).kind).toBe("unknown");
    }
  });

  it("refuses a header section larger than the bound as unreadable instead of parsing it", async () => {
    const huge = Buffer.from(`X-Filler: ${"a".repeat(600_000)}\r\nSubject: x\r\n\r\nbody\r\n`);
    const parsed = await parseFeedbackMessage(huge, { secrets });
    expect(parsed).toMatchObject({ kind: "unknown", reason: expect.stringContaining("not readable as MIME") });
  });

  it("reads only the first MAX_FEEDBACK_BYTES of a huge DSN (RET=FULL) and says it was cut", async () => {
    const dsn = fixture("postfix-dsn-live.eml").toString("latin1");
    const end = dsn.lastIndexOf("--E0A9B224298");
    const padded = Buffer.from(`${dsn.slice(0, end)}${"x".repeat(MAX_FEEDBACK_BYTES)}\r\n${dsn.slice(end)}`, "latin1");
    const parsed = await parseFeedbackMessage(padded, { secrets });
    expect(parsed).toMatchObject({ kind: "dsn", truncated: true });
    expect(outcomes(parsed)).toEqual([["departed@users.relay.test", "hard_bounce"]]);
  });

  it("falls back to the prose notice when the delivery-status part names no recipient, and stays soft", async () => {
    const dsn = fixture("postfix-dsn-live.eml").toString("latin1");
    const stripped = dsn.replace(/Final-Recipient:[\s\S]*?(?=\r?\n\r?\n)/, "X-Nothing: here");
    const parsed = await parseFeedbackMessage(Buffer.from(stripped, "latin1"), { secrets });
    expect(parsed).toMatchObject({ kind: "text_bounce", format: "postfix" });
    expect(outcomes(parsed)).toEqual([["departed@users.relay.test", "soft_bounce"]]);
  });

  it("answers a DSN with neither recipient fields nor a readable notice with unknown, saying why", async () => {
    const dsn = fixture("postfix-dsn-live.eml").toString("latin1");
    const stripped = dsn
      .replace(/Final-Recipient:[\s\S]*?(?=\r?\n\r?\n)/, "X-Nothing: here")
      .replace(/<departed@users\.relay\.test>: [^\r\n]*/, "");
    const parsed = await parseFeedbackMessage(Buffer.from(stripped, "latin1"), { secrets });
    expect(parsed).toMatchObject({ kind: "unknown", reason: "the delivery-status part names no recipient" });
  });

  it("reads at most a thousand blocks of a delivery-status part that claims thousands of recipients", async () => {
    const blocks = Array.from(
      { length: 5000 },
      (_, i) => `Final-Recipient: rfc822; u${i}@example.com\r\nAction: failed`,
    );
    const raw = Buffer.from(
      'From: MAILER-DAEMON@x.example\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n' +
        `--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n${blocks.join("\r\n\r\n")}\r\n--b--\r\n`,
    );
    const parsed = await parseFeedbackMessage(raw, { secrets });
    expect(recipientsOf(parsed).length).toBeLessThan(1000);
  });

  it("refuses a message of more MIME parts than the bound as unreadable", async () => {
    const parts = "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n".repeat(500);
    const raw = Buffer.from(
      `From: a@x.example\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${parts}--b--\r\n`,
    );
    const parsed = await parseFeedbackMessage(raw, { secrets });
    expect(parsed).toMatchObject({ kind: "unknown", reason: expect.stringContaining("child nodes") });
  });

  it("reads a prose notice of hundreds of kilobytes of addresses and codes quickly, naming at most 50 recipients", async () => {
    const body = Array.from({ length: 30_000 }, (_, i) => `<u${i}@example.com>: 550 5.1.1 unknown`).join("\n");
    const raw = Buffer.from(
      `From: MAILER-DAEMON@x.example\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\nThis is the mail system at host x.\r\n${body}`,
    );
    const started = performance.now();
    const parsed = await parseFeedbackMessage(raw, { secrets });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(recipientsOf(parsed)).toHaveLength(50);
  });

  it("never throws on random bytes or random edits of a real DSN", async () => {
    const real = fixture("postfix-dsn-live.eml");
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 4096 }),
          fc.tuple(fc.nat(real.length - 1), fc.uint8Array({ minLength: 1, maxLength: 64 })).map(([at, bytes]) => {
            const edited = Buffer.from(real);
            edited.set(bytes.subarray(0, real.length - at), at);
            return new Uint8Array(edited);
          }),
        ),
        async (raw) => {
          const parsed = await parseFeedbackMessage(raw, { secrets, envelopeTo: [RETURN_PATH_0] });
          expect(["dsn", "text_bounce", "complaint", "auto_reply", "unknown"]).toContain(parsed.kind);
        },
      ),
      { numRuns: 150 },
    );
  });
});
