// The memory large uploaded files are received in, in this process. The bytes are stored in
// the database, whose drivers take a value in one piece, so a file is held whole before it is
// written: three 96 MB uploads at once took 440 MB. A file past FREE_BYTES waits for one of
// LARGE_SLOTS buffers, each reused from file to file (so what one file used is not garbage
// waiting for a collection when the next one comes); small files, most of them, never wait.
import { PosthornError } from "../errors";

/** A file up to this size is received in its own buffer, without a slot. */
export const FREE_BYTES = 1024 * 1024;
/** Large files received at once per process: each buffer grows up to POSTHORN_ATTACHMENT_MAX_BYTES. */
export const LARGE_SLOTS = 1;
/** Past this wait for a slot, the upload is answered 503 with Retry-After. */
export const SLOT_WAIT_MS = 30_000;
/**
 * A file holding a slot must keep coming at this average rate (after a grace period), or a
 * client trickling bytes would keep every other large upload waiting: 96 MB may take 6 minutes.
 */
export const SLOT_MIN_BYTES_PER_SECOND = 256 * 1024;
export const SLOT_GRACE_MS = 10_000;

export interface SlotPace {
  minBytesPerSecond: number;
  graceMs: number;
}

export interface UploadSlot {
  /** Resizable up to the file limit; only the pages written take memory. Empty when handed out. */
  buffer: ArrayBuffer;
  /** Gives the slot back (once); the buffer must not be used after. */
  release(): void;
  /** Whether `received` bytes came too slowly for the time the slot has been held. */
  tooSlow(received: number): boolean;
}

/** A buffer that grows in place up to `maxBytes`. */
export const growableBuffer = (maxBytes: number) => new ArrayBuffer(0, { maxByteLength: maxBytes });

export class UploadBuffers {
  readonly #idle: ArrayBuffer[] = [];
  #unmade: number;
  readonly #waiting: ((buffer: ArrayBuffer) => void)[] = [];

  constructor(
    readonly maxBytes: number,
    slots = LARGE_SLOTS,
    readonly waitMs = SLOT_WAIT_MS,
    readonly pace: SlotPace = { minBytesPerSecond: SLOT_MIN_BYTES_PER_SECOND, graceMs: SLOT_GRACE_MS },
  ) {
    this.#unmade = slots;
  }

  /** A slot for one large file, once one is free (503 after `waitMs`). */
  async acquire(): Promise<UploadSlot> {
    const idle = this.#idle.pop();
    if (idle) return this.#slot(idle);
    if (this.#unmade > 0) {
      this.#unmade--;
      return this.#slot(growableBuffer(this.maxBytes));
    }
    const buffer = await new Promise<ArrayBuffer>((resolve, reject) => {
      const turn = (b: ArrayBuffer) => {
        clearTimeout(timer);
        resolve(b);
      };
      const timer = setTimeout(() => {
        this.#waiting.splice(this.#waiting.indexOf(turn), 1);
        reject(
          new PosthornError("unavailable", "Other large uploads are being received; retry shortly.", {
            retryAfterSeconds: 5,
          }),
        );
      }, this.waitMs);
      this.#waiting.push(turn);
    });
    return this.#slot(buffer);
  }

  #slot(buffer: ArrayBuffer): UploadSlot {
    buffer.resize(0);
    let released = false;
    const since = performance.now();
    const { minBytesPerSecond, graceMs } = this.pace;
    return {
      buffer,
      tooSlow: (received) => performance.now() - since > graceMs + (received / minBytesPerSecond) * 1000,
      release: () => {
        if (released) return;
        released = true;
        const next = this.#waiting.shift();
        if (next) next(buffer);
        else this.#idle.push(buffer);
      },
    };
  }
}
