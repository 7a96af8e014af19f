// Secrets at rest (SMTP passwords, DKIM keys, webhook signing secrets): AES-256-GCM under the
// configured secret key. Each ciphertext names the key it was sealed with, so keys can be rotated:
// the new key seals, old keys (POSTHORN_PREVIOUS_SECRET_KEYS) still open. Each one is also bound,
// as GCM associated data, to the row and column it was sealed for: a ciphertext copied into
// another account's row (by someone who can write the database but not read the key) does not
// open there, so it cannot make that account send one's password to another server.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeSecretKey } from "../config";

/** Sealed for a place (row and column) since v2. */
const FORMAT = "v2";
/** Sealed before places existed: opened without associated data, wherever it is found. */
const LEGACY_FORMAT = "v1";
const IV_BYTES = 12;
export const SECRET_KEY_FILE = "secret.key";

export interface SecretKey {
  /** First 8 hex characters of sha256(key): names the key inside each ciphertext. */
  id: string;
  bytes: Buffer;
}

export function parseSecretKey(source: string, raw: string): SecretKey {
  const bytes = decodeSecretKey(source, raw);
  return { id: createHash("sha256").update(bytes).digest("hex").slice(0, 8), bytes };
}

/** Where a sealed value lives: it opens only there. */
export interface SecretPlace {
  table: string;
  column: string;
  /** The row's id. */
  id: string;
}

const associatedData = (p: SecretPlace) => Buffer.from(`posthorn:${p.table}.${p.column}:${p.id}`, "utf8");

export class SecretBox {
  readonly #keys = new Map<string, Buffer>();
  constructor(
    private readonly current: SecretKey,
    previous: SecretKey[] = [],
  ) {
    for (const k of [current, ...previous]) this.#keys.set(k.id, k.bytes);
  }

  get keyId(): string {
    return this.current.id;
  }

  seal(plaintext: string, place: SecretPlace): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.current.bytes, iv);
    cipher.setAAD(associatedData(place));
    const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return [
      FORMAT,
      this.current.id,
      iv.toString("base64"),
      cipher.getAuthTag().toString("base64"),
      ct.toString("base64"),
    ].join(":");
  }

  /**
   * Opens a value sealed for `place`. A v1 value (sealed before places existed) opens anywhere;
   * it is left as it is and becomes bound the next time that secret is written.
   */
  open(sealed: string, place: SecretPlace): string {
    const [format, keyId, iv, tag, ct] = sealed.split(":");
    if ((format !== FORMAT && format !== LEGACY_FORMAT) || !keyId || !iv || !tag || ct === undefined)
      throw new Error("not a sealed secret");
    const key = this.#keys.get(keyId);
    if (!key) {
      throw new Error(
        `secret sealed with key ${keyId}, which is not configured (add it to POSTHORN_PREVIOUS_SECRET_KEYS)`,
      );
    }
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64"));
    if (format === FORMAT) decipher.setAAD(associatedData(place));
    decipher.setAuthTag(Buffer.from(tag, "base64"));
    try {
      return Buffer.concat([decipher.update(Buffer.from(ct, "base64")), decipher.final()]).toString("utf8");
    } catch {
      throw new Error(
        `secret does not open as ${place.table}.${place.column} of ${place.id}: it was sealed for another row or column, or altered`,
      );
    }
  }

  /**
   * A key for one purpose (e.g. signing unsubscribe links), derived with HKDF from each configured
   * key: the current one first, then the previous ones, so what was signed before a rotation still
   * verifies. The secret key itself never leaves this class.
   */
  deriveKeys(purpose: string): Buffer[] {
    return [...this.#keys.values()].map((k) => Buffer.from(hkdfSync("sha256", k, "posthorn", purpose, 32)));
  }

  /** The id of the key a sealed value was made with (to find values to re-seal after rotation). */
  static keyIdOf(sealed: string): string | undefined {
    return sealed.split(":")[1];
  }
}

/**
 * The secret box for this process: POSTHORN_SECRET_KEY when set; otherwise a key generated once
 * into the data directory (0600) — `generated` tells the caller to warn.
 */
export function loadSecretBox(opts: { secretKey: string | undefined; previousSecretKeys: string[]; dataDir: string }): {
  box: SecretBox;
  generatedAt?: string;
  keyFile?: string;
} {
  const previous = opts.previousSecretKeys.map((k, i) => parseSecretKey(`POSTHORN_PREVIOUS_SECRET_KEYS[${i}]`, k));
  if (opts.secretKey) return { box: new SecretBox(parseSecretKey("POSTHORN_SECRET_KEY", opts.secretKey), previous) };

  const file = join(opts.dataDir, SECRET_KEY_FILE);
  if (existsSync(file)) {
    return { box: new SecretBox(parseSecretKey(file, readFileSync(file, "utf8")), previous), keyFile: file };
  }
  mkdirSync(opts.dataDir, { recursive: true });
  let generatedAt: string | undefined = file;
  try {
    writeFileSync(file, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
    chmodSync(file, 0o600);
  } catch (err) {
    // Another process starting at the same moment wrote it first: use theirs.
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    generatedAt = undefined;
  }
  return { box: new SecretBox(parseSecretKey(file, readFileSync(file, "utf8")), previous), generatedAt, keyFile: file };
}
