// Which database failures are "not now" (503, retry), which are the request's (400), and which
// are ours (500): the one classification both the HTTP error mapper and the write batcher use.
import { describe, expect, it } from "bun:test";
import { databaseErrorAsProblem, databaseUnavailableReason } from "../../src/db/errors";

const err = (code: string, message = "x") => Object.assign(new Error(message), { code });

describe("database errors", () => {
  it.each([
    ["SQLITE_FULL", "disk is full"],
    ["ENOSPC", "disk is full"],
    ["53100", "disk is full"],
    ["SQLITE_IOERR_WRITE", "could not write"],
    ["SQLITE_BUSY", "busy"],
    ["CONNECTION_CLOSED", "does not answer"],
    ["CONNECT_TIMEOUT", "does not answer"],
    ["ECONNREFUSED", "does not answer"],
    ["ECONNRESET", "does not answer"],
    ["57P01", "does not answer"],
    ["57P03", "does not answer"],
    ["08006", "does not answer"],
    ["53300", "does not answer"],
  ])("answers %s with 503 unavailable (%s)", (code, words) => {
    expect(databaseUnavailableReason(err(code))).toContain(words);
    expect(databaseErrorAsProblem(err(code))).toMatchObject({ code: "unavailable", extra: { retryAfterSeconds: 5 } });
  });

  it.each(["22021", "22P05"])("answers %s (a character Postgres cannot store) with 400", (code) => {
    expect(databaseErrorAsProblem(err(code))).toMatchObject({ code: "bad_request" });
  });

  it.each(["23505", "SQLITE_CONSTRAINT_UNIQUE", "42P01", "SQLITE_ERROR", "EPERM", undefined])(
    "leaves %s to the caller (a bug of ours, or an expected refusal handled elsewhere)",
    (code) => {
      const e = code === undefined ? new Error("plain") : err(code);
      expect(databaseUnavailableReason(e)).toBeUndefined();
      expect(databaseErrorAsProblem(e)).toBeUndefined();
    },
  );
});
