// Attachments: uploads checked by their bytes (executables refused whatever their name), size
// limits as 413, names cleaned, bytes stored once, tenants kept apart, expiry; and files that
// reach the SMTP server byte-identical with the right type, inline images included.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { pruneExpiredAttachments } from "../../src/attachments";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";
import { mimeParts } from "../helpers/mime";
import { createSmtpAccount, sendEmail, waitForStatus } from "../helpers/sending";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";

type Json = Record<string, any>;

/** A tiny but real PDF and PNG, and a Windows executable's first bytes. */
const PDF = Buffer.from("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n", "latin1");
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);
const EXE = Buffer.concat([Buffer.from("MZ\x90\x00\x03\x00\x00\x00", "latin1"), Buffer.alloc(120)]);

describe(`attachments (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  let key: string;
  beforeAll(async () => {
    t = await createTestApp({}, { dispatch: true });
    smtp = await startSmtpServer();
    key = (await t.createTenantWithKey()).key;
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const upload = async (files: [Uint8Array, string][], as = key) => {
    const form = new FormData();
    for (const [bytes, name] of files) form.append("files", new File([bytes], name));
    const res = await t.request("POST", "/v1/attachments", { key: as, body: form });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const countRows = async (table: "attachments" | "attachment_blobs") =>
    Number(
      (
        await t.deps.db.kysely
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it("stores files with the type detected from their bytes, and identical bytes once", async () => {
    const res = await upload([
      [PDF, "invoice.pdf"],
      [PNG, "logo.dat"],
    ]);
    expect(res.status).toBe(201);
    const [pdf, png] = res.body.data;
    expect(pdf).toMatchObject({
      object: "attachment",
      filename: "invoice.pdf",
      content_type: "application/pdf",
      size: PDF.length,
    });
    expect(png).toMatchObject({ filename: "logo.dat", content_type: "image/png" });
    expect(Date.parse(pdf.expires_at)).toBeGreaterThan(Date.now());

    const blobsBefore = await countRows("attachment_blobs");
    const again = await upload([[PDF, "copy.pdf"]]);
    expect(again.body.data[0].sha256).toBe(pdf.sha256);
    expect(again.body.data[0].id).not.toBe(pdf.id);
    expect(await countRows("attachment_blobs")).toBe(blobsBefore);

    const got = await t.request("GET", `/v1/attachments/${pdf.id}/content`, { key });
    expect(Buffer.from(await got.arrayBuffer())).toEqual(PDF);
    expect(got.headers.get("content-type")).toBe("application/pdf");
    const list = (await (await t.request("GET", "/v1/attachments?limit=2", { key })).json()) as Json;
    expect(list.data).toHaveLength(2);
    expect(list.next_cursor).not.toBeNull();
  });

  it("refuses an .exe renamed .pdf, a script, and a file named as a program; stores none of the request", async () => {
    const before = await countRows("attachments");
    const res = await upload([
      [PDF, "fine.pdf"],
      [EXE, "invoice.pdf"],
      [Buffer.from("#!/bin/sh\nrm -rf /\n"), "notes.txt"],
      [PDF, "report.pdf.exe"],
      [Buffer.from("just text"), "run.bat"],
    ]);
    expect(res.status).toBe(422);
    const fields = res.body.errors.map((e: Json) => e.field);
    expect(fields).toEqual(["files[1]", "files[2]", "files[3]", "files[4]"]);
    expect(res.body.errors[0].message).toContain("is a Windows executable");
    expect(res.body.errors[1].message).toContain("script");
    expect(await countRows("attachments")).toBe(before);
  });

  it("answers 413 for a file over 25 MB, naming it", async () => {
    const big = Buffer.alloc(26 * 1024 * 1024);
    PDF.copy(big);
    const res = await upload([[big, "huge.pdf"]]);
    expect(res.status).toBe(413);
    expect(res.body.code).toBe("payload_too_large");
    expect(res.body.field).toBe("files[0]");
  });

  it("cleans file names: no folders, no control or invisible characters", async () => {
    const res = await upload([
      [PDF, "../../etc/re\u0007port\u202E.pdf"],
      [PDF, "C:\\Users\\ada\\Q3 \u200Bresults.pdf"],
      [PNG, "...."],
    ]);
    expect(res.status).toBe(201);
    expect(res.body.data.map((a: Json) => a.filename)).toEqual(["report.pdf", "Q3 results.pdf", "attachment.png"]);
  });

  it("answers 404 for another tenant's attachment, and 422 when an email references it", async () => {
    const mine = (await upload([[PDF, "mine.pdf"]])).body.data[0];
    const other = (await t.createTenantWithKey("Globex")).key;
    for (const path of [`/v1/attachments/${mine.id}`, `/v1/attachments/${mine.id}/content`]) {
      expect((await t.request("GET", path, { key: other })).status).toBe(404);
    }
    expect((await t.request("DELETE", `/v1/attachments/${mine.id}`, { key: other })).status).toBe(404);
    const send = await t.request("POST", "/v1/emails", {
      key: other,
      json: { to: ["ada@example.com"], subject: "s", text: "x", attachment_ids: [mine.id] },
    });
    expect(send.status).toBe(422);
    expect(((await send.json()) as Json).field).toBe("attachment_ids[0]");
  });

  it("delivers uploaded and inline files byte-identical with their types, an inline image by its cid", async () => {
    const { key: sender } = await t.createTenantWithKey("Sender");
    await createSmtpAccount(t, sender, smtp);
    const pdf = (await upload([[PDF, "invoice.pdf"]], sender)).body.data[0];
    const id = await sendEmail(t, sender, {
      to: ["ada@example.com"],
      subject: "Your invoice",
      html: '<p><img src="cid:logo"> Invoice attached</p>',
      attachment_ids: [pdf.id],
      attachments: [
        { filename: "logo.png", content: PNG.toString("base64"), content_type: "image/png", content_id: "logo" },
      ],
    });
    const email = await waitForStatus(t, sender, id, ["sent", "failed"]);
    expect(email).toMatchObject({ status: "sent", attachment_count: 2 });

    const msg = smtp.messages.find((m) => m.rawText.includes(id))!;
    const parts = mimeParts(msg.raw.toString("latin1"));
    const pdfPart = parts.find((p) => p.filename === "invoice.pdf")!;
    expect(pdfPart.contentType).toBe("application/pdf");
    expect(pdfPart.body.equals(PDF)).toBe(true);
    const logo = parts.find((p) => p.contentType === "image/png")!;
    expect(logo.body.equals(PNG)).toBe(true);
    expect(logo.headers["content-id"]).toBe("<logo>");
    expect(logo.headers["content-disposition"]).toStartWith("inline");
    expect(msg.rawText).toContain("multipart/related");
  });

  it("checks inline files like uploads", async () => {
    const res = await t.request("POST", "/v1/emails", {
      key,
      json: {
        to: ["ada@example.com"],
        subject: "s",
        text: "x",
        attachments: [
          { filename: "ok.pdf", content: PDF.toString("base64") },
          { filename: "invoice.pdf", content: EXE.toString("base64") },
          { filename: "x.pdf", content: "not base64!" },
        ],
      },
    });
    expect(res.status).toBe(422);
    const fields = ((await res.json()) as Json).errors.map((e: Json) => e.field);
    expect(fields).toEqual(["attachments[2].content"]);
    const exe = await t.request("POST", "/v1/emails", {
      key,
      json: {
        to: ["ada@example.com"],
        subject: "s",
        text: "x",
        attachments: [{ filename: "a.pdf", content: EXE.toString("base64") }],
      },
    });
    expect(((await exe.json()) as Json).field).toBe("attachments[0]");
  });

  it("stores a batch's shared inline file once for all its emails", async () => {
    const { key: k } = await t.createTenantWithKey("Batch files");
    const before = await countRows("attachments");
    const res = await t.request("POST", "/v1/emails/batch", {
      key: k,
      json: {
        defaults: {
          subject: "Terms",
          text: "Attached",
          attachments: [{ filename: "terms.pdf", content: PDF.toString("base64") }],
        },
        emails: [{ to: ["a@example.com"] }, { to: ["b@example.com"] }, { to: ["c@example.com"] }],
      },
    });
    expect(res.status).toBe(202);
    expect(await countRows("attachments")).toBe(before + 1);
    const ids = ((await res.json()) as Json).emails.map((e: Json) => e.id);
    for (const id of ids) {
      expect(((await (await t.request("GET", `/v1/emails/${id}`, { key: k })).json()) as Json).attachment_count).toBe(
        1,
      );
    }
  });

  it("refuses to delete a file a waiting email uses, and expires uploads no email references", async () => {
    const { key: k } = await t.createTenantWithKey("Expiry");
    const [used, unused] = (
      await upload(
        [
          [PDF, "used.pdf"],
          [PNG, "unused.png"],
        ],
        k,
      )
    ).body.data;
    // No SMTP account: the email waits, holding its attachment.
    await sendEmail(t, k, { to: ["ada@example.com"], subject: "s", text: "x", attachment_ids: [used.id] });
    expect((await t.request("DELETE", `/v1/attachments/${used.id}`, { key: k })).status).toBe(409);

    await pruneExpiredAttachments(t.deps.db.kysely, Date.now() + 25 * 3_600_000);
    expect((await t.request("GET", `/v1/attachments/${unused.id}`, { key: k })).status).toBe(404);
    expect((await t.request("GET", `/v1/attachments/${used.id}`, { key: k })).status).toBe(200);
  });

  it("documents the upload as multipart/form-data", async () => {
    const doc = (await (await t.request("GET", "/openapi.json")).json()) as Json;
    const op = doc.paths["/v1/attachments"].post;
    expect(op.tags).toEqual(["Attachments"]);
    expect(op.requestBody.content["multipart/form-data"].schema.properties.files.items.format).toBe("binary");
    for (const path of ["/v1/templates", "/v1/templates/{id}/render", "/v1/emails/batch", "/v1/batches/{id}/pause"]) {
      expect(doc.paths[path]).toBeDefined();
    }
  });
});
