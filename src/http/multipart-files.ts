// The files of a multipart/form-data body, one after the other as they arrive, each a stream of
// its bytes: nothing is buffered here, so the attachments module can refuse a file (too large,
// an executable) on its first bytes, without reading the rest. @fastify/busboy parses the
// framing; other fields are read and dropped.
import type { Readable } from "node:stream";
import { Busboy, type BusboyInstance } from "@fastify/busboy";
import { PosthornError } from "../errors";

export interface IncomingFile {
  /** The part's filename ("" when sent with filename=""). */
  name: string;
  chunks: AsyncIterable<Uint8Array>;
}

export interface MultipartLimits {
  /** The first file past this refuses the request (a 422 naming `files`), and stops the reading. */
  maxFiles: number;
  /** The whole body, framing included (a body without Content-Length is counted as it comes). */
  maxBodyBytes: number;
}

/** Non-file fields carry nothing Posthorn reads: kept small, and few. */
const FIELD_LIMITS = { fieldSize: 64 * 1024, fields: 100, fieldNameSize: 200, headerPairs: 100 };

const malformed = () => new PosthornError("bad_request", "The body is not valid multipart/form-data.");
const asProblem = (err: unknown) => (err instanceof PosthornError ? err : malformed());
const tooManyFiles = (max: number) =>
  new PosthornError("validation_failed", `At most ${max} files per request (POSTHORN_ATTACHMENT_MAX_FILES).`, {
    issues: [{ field: "files", message: `at most ${max} files per request` }],
  });

/** A file's bytes; a body cut short or refused ends it with the request's problem. */
async function* bytesOf(stream: Readable, failed: () => unknown): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of stream) yield chunk as Uint8Array;
  } catch (err) {
    throw asProblem(failed() ?? err);
  }
  const failure = failed();
  if (failure) throw failure;
}

/**
 * Yields each file part of `body`. Stopping early (a throw or `break` in the caller's loop)
 * cancels the body, so the rest of the upload is never read.
 */
export async function* multipartFiles(
  body: ReadableStream<Uint8Array> | null,
  contentType: string,
  limits: MultipartLimits,
): AsyncGenerator<IncomingFile> {
  if (!body) throw malformed();
  let parser: BusboyInstance;
  try {
    // One more file than allowed is parsed, to refuse the request on it (busboy would skip
    // the ones past its limit by reading them to their end).
    parser = new Busboy({
      headers: { "content-type": contentType },
      limits: { ...FIELD_LIMITS, files: limits.maxFiles + 1 },
    });
  } catch {
    throw malformed();
  }
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const files: IncomingFile[] = [];
  const open = new Set<Readable>();
  let finished = false;
  let failure: PosthornError | undefined;
  const fail = (err: unknown) => {
    failure ??= asProblem(err);
    for (const stream of open) stream.destroy(failure);
    notify();
  };
  let count = 0;
  parser.on("file", (_field, stream, filename) => {
    if (++count > limits.maxFiles) return fail(tooManyFiles(limits.maxFiles));
    open.add(stream);
    stream.once("close", () => open.delete(stream));
    // Its reader learns of a failure through bytesOf; unread, an error event would go unheard.
    stream.on("error", () => {});
    files.push({ name: filename ?? "", chunks: bytesOf(stream, () => failure) });
    notify();
  });
  parser.on("field", () => {});
  parser.on("finish", () => {
    finished = true;
    notify();
  });
  parser.on("error", fail);

  const reader = body.getReader();
  let stopped = false;
  const pump = async () => {
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || stopped) break;
        total += value.byteLength;
        if (total > limits.maxBodyBytes) {
          throw new PosthornError("payload_too_large", `The request body is larger than ${limits.maxBodyBytes} bytes.`);
        }
        // Back-pressure: a file the caller is not reading yet holds the parser, and so the body.
        if (!parser.write(value)) await new Promise<void>((resolve) => parser.once("drain", resolve));
      }
      if (!stopped) parser.end();
    } catch (err) {
      if (!stopped) fail(err);
    }
  };
  void pump();

  try {
    for (;;) {
      const next = files.shift();
      if (next) {
        yield next;
        continue;
      }
      if (failure) throw failure;
      if (finished) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    stopped = true;
    await reader.cancel().catch(() => {});
    parser.destroy();
  }
}
