// The suppression list's page cursor. The table's key is (tenant_id, email) and it has no id,
// so a page ends at a (created_at, email) pair; the cursor is that pair, opaque to callers.
import { validationFailed } from "../errors";

export interface SuppressionCursor {
  createdAt: number;
  email: string;
}

const MAX_EMAIL_LENGTH = 320;

export function encodeSuppressionCursor(position: SuppressionCursor): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.email]), "utf8").toString("base64url");
}

/** The position a cursor stands for; a cursor that is not one of ours is the caller's error. */
export function decodeSuppressionCursor(cursor: string | undefined): SuppressionCursor | undefined {
  if (cursor === undefined) return undefined;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    decoded = undefined;
  }
  if (
    Array.isArray(decoded) &&
    decoded.length === 2 &&
    Number.isSafeInteger(decoded[0]) &&
    decoded[0] >= 0 &&
    typeof decoded[1] === "string" &&
    decoded[1].length > 0 &&
    decoded[1].length <= MAX_EMAIL_LENGTH
  ) {
    return { createdAt: decoded[0], email: decoded[1] };
  }
  throw validationFailed("cursor", "is not a cursor returned by this API");
}
