// The request body limit: POSTHORN_BODY_LIMIT everywhere, except uploads to /v1/attachments,
// which may carry every file at its own limit (POSTHORN_ATTACHMENT_MAX_FILES ×
// POSTHORN_ATTACHMENT_MAX_BYTES); each file's own size is checked by the attachments module.
// Uploads are streamed, so here they are only refused by their Content-Length: hono's bodyLimit
// would buffer a body sent without one whole, and the multipart reader counts such a body itself.
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Config } from "../../config";
import { PosthornError } from "../../errors";
import type { AppEnv } from "../env";

/** Multipart framing per file (boundary, headers, file name): generous, it only bounds the total. */
const MULTIPART_OVERHEAD_PER_FILE = 64 * 1024;
const UPLOAD_PATH = /^\/v1\/attachments\/?$/;

type LimitSettings = Pick<Config, "bodyLimitBytes" | "attachmentMaxBytes" | "attachmentMaxFiles">;

/** The largest body any route accepts (Bun's own cap must sit above it). */
export function largestRequestBody(config: LimitSettings): number {
  return Math.max(
    config.bodyLimitBytes,
    config.attachmentMaxFiles * (config.attachmentMaxBytes + MULTIPART_OVERHEAD_PER_FILE),
  );
}

const tooLarge = (maxSize: number, setting: string) =>
  new PosthornError("payload_too_large", `The request body is larger than ${maxSize} bytes (${setting}).`);

const limitOf = (maxSize: number, setting: string) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw tooLarge(maxSize, setting);
    },
  });

const UPLOAD_SETTINGS = "POSTHORN_ATTACHMENT_MAX_FILES × POSTHORN_ATTACHMENT_MAX_BYTES";

export const requestBodyLimit = (config: LimitSettings): MiddlewareHandler<AppEnv> => {
  const general = limitOf(config.bodyLimitBytes, "POSTHORN_BODY_LIMIT");
  const largestUpload = largestRequestBody(config);
  return async function requestBodyLimit(c, next) {
    if (c.req.method !== "POST" || !UPLOAD_PATH.test(c.req.path)) return general(c, next);
    if (Number(c.req.header("Content-Length") ?? 0) > largestUpload) throw tooLarge(largestUpload, UPLOAD_SETTINGS);
    return next();
  };
};
