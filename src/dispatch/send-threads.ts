// The send threads, seen from the dispatcher: an SmtpSender that hands each message to one of
// N worker threads (send-thread.ts). An account's max_connections is split between the threads
// (10 over 2 threads: 5 + 5; 1 over 2: one thread only), so together they never open more
// connections than the account allows, and a message goes to the thread with the fewest of
// that account's sends in flight per connection.
//
// Why threads: composing and sending a message through nodemailer costs ~250 µs of CPU here,
// more than the whole queue around it; on one thread the dispatcher could never use a second
// core. A thread that dies fails its sends in flight with SEND_THREAD_LOST (retried, never
// blamed on the account) and is replaced.
import type { SendMailOptions } from "nodemailer";
import type { Logger } from "../logger";
import type { DialSettings, SendableAccount } from "../smtp-accounts";
import {
  SmtpAccountPool,
  type SmtpReply,
  type SmtpSender,
  type SmtpTransaction,
  type TransactionResult,
} from "./account-pool";
import type { FromSendThread, SmtpErrorFields, ToSendThread } from "./send-thread";

/** The error code of a send whose thread stopped before it answered. */
export const SEND_THREAD_LOST = "ESENDTHREAD";
/** How long close() waits for the threads to close their SMTP connections politely. */
const CLOSE_WAIT_MS = 2_000;

interface Waiting {
  resolve(answer: SmtpReply | TransactionResult[]): void;
  reject(err: Error): void;
  accountId: string;
}

/**
 * Where the send thread's code is: beside this file when run from source; inside the compiled
 * binary, where `bun run build` put that entry point (paths relative to src/, the entries' common
 * folder — a bundled module's import.meta.url is the binary's, not its own).
 */
const SEND_THREAD_ENTRY = import.meta.url.includes("/$bunfs/")
  ? "./dispatch/send-thread.ts"
  : new URL("./send-thread.ts", import.meta.url).href;

class SendThread {
  worker: Worker;
  /** Started and answered "ready" at least once: a thread lost before that is not started again. */
  everReady = false;
  /** Could not start: its sends go to the main thread's pool instead. */
  dead = false;
  readonly waiting = new Map<number, Waiting>();
  /** Messages for the thread, posted together once per turn of the event loop. */
  readonly #outbox: ToSendThread[] = [];
  #posting = false;
  onClosed: (() => void) | undefined;

  constructor(
    private readonly entry: string,
    private readonly settings: DialSettings,
    private readonly onLost: (thread: SendThread, why: string) => void,
    private readonly onAnswered: (thread: SendThread, accountId: string) => void,
  ) {
    this.worker = this.#spawn();
  }

  #spawn(): Worker {
    const worker = new Worker(this.entry);
    // Only the current worker's end counts: a replaced one may still report its own.
    const lost = (why: string) => {
      if (this.worker === worker) this.onLost(this, why);
    };
    worker.onmessage = (event: MessageEvent<FromSendThread[]>) => this.#received(event.data);
    worker.onerror = (event) => lost(event.message);
    worker.addEventListener("close", () => lost("the thread exited"));
    this.#outbox.length = 0;
    this.post({ kind: "init", settings: this.settings });
    return worker;
  }

  respawn(): void {
    const old = this.worker;
    this.worker = this.#spawn();
    old.terminate();
  }

  post(message: ToSendThread): void {
    this.#outbox.push(message);
    if (this.#posting) return;
    this.#posting = true;
    setImmediate(() => {
      this.#posting = false;
      if (this.#outbox.length > 0) this.worker.postMessage(this.#outbox.splice(0));
    });
  }

  #received(messages: FromSendThread[]): void {
    for (const m of messages) {
      if (m.kind === "ready") {
        this.everReady = true;
        continue;
      }
      if (m.kind === "closed") {
        this.onClosed?.();
        continue;
      }
      const w = this.waiting.get(m.id);
      if (!w) continue;
      this.waiting.delete(m.id);
      this.onAnswered(this, w.accountId);
      if (m.kind === "sent") w.resolve(m.reply);
      else if (m.kind === "sentEach")
        w.resolve(m.results.map((r) => (r.error !== undefined ? { error: asError(r.error) } : { reply: r.reply! })));
      else w.reject(asError(m.error));
    }
  }
}

function asError(fields: SmtpErrorFields): Error {
  return Object.assign(new Error(fields.message), fields);
}

export class SmtpSendThreads implements SmtpSender {
  readonly #threads: SendThread[];
  /** Used only when no thread could start (then the main thread sends, as with 0 threads). */
  readonly #fallback: SmtpAccountPool;
  /** Account id → its sends in flight on each thread. */
  readonly #inFlight = new Map<string, number[]>();
  #nextId = 1;
  #closing = false;

  /** `entry`: the thread's code; only tests pass another (one that cannot start). */
  constructor(
    count: number,
    settings: DialSettings,
    private readonly log: Logger,
    entry = SEND_THREAD_ENTRY,
  ) {
    this.#fallback = new SmtpAccountPool(settings);
    this.#threads = Array.from(
      { length: count },
      () =>
        new SendThread(
          entry,
          settings,
          (thread, why) => this.#lost(thread, why),
          (thread, accountId) => this.#answered(thread, accountId),
        ),
    );
  }

  send(account: SendableAccount, message: SendMailOptions): Promise<SmtpReply> {
    return this.#post(
      account,
      (id, share) => ({ kind: "send", id, account: share, message }),
      () => this.#fallback.send(account, message),
    ) as Promise<SmtpReply>;
  }

  sendEach(
    account: SendableAccount,
    message: SendMailOptions,
    transactions: SmtpTransaction[],
  ): Promise<TransactionResult[]> {
    const answer = this.#post(
      account,
      (id, share) => ({ kind: "sendEach", id, account: share, message, transactions }),
      () => this.#fallback.sendEach(account, message, transactions),
    ) as Promise<TransactionResult[]>;
    // A lost thread rejects what it held: every transaction then has that error (none known sent).
    return answer.catch((error: unknown) => transactions.map(() => ({ error })));
  }

  /** Hands a message to the thread with the fewest of the account's sends per connection (or to the fallback). */
  #post(
    account: SendableAccount,
    message: (id: number, share: SendableAccount) => ToSendThread,
    fallback: () => Promise<SmtpReply | TransactionResult[]>,
  ): Promise<SmtpReply | TransactionResult[]> {
    if (this.#threads.every((t) => t.dead)) return fallback();
    const shares = connectionShares(account.max_connections, this.#threads.length);
    const inFlight = this.#inFlight.get(account.id) ?? new Array<number>(this.#threads.length).fill(0);
    this.#inFlight.set(account.id, inFlight);
    let best = -1;
    // A dead thread's share is not used: the account then sends over fewer connections.
    for (let i = 0; i < shares.length; i++) {
      if (shares[i] === 0 || this.#threads[i]!.dead) continue;
      if (best < 0 || inFlight[i]! / shares[i]! < inFlight[best]! / shares[best]!) best = i;
    }
    if (best < 0) return fallback();
    const thread = this.#threads[best]!;
    inFlight[best]!++;
    const id = this.#nextId++;
    return new Promise<SmtpReply | TransactionResult[]>((resolve, reject) => {
      thread.waiting.set(id, { resolve, reject, accountId: account.id });
      thread.post(message(id, { ...account, max_connections: shares[best]! }));
    });
  }

  #answered(thread: SendThread, accountId: string): void {
    const inFlight = this.#inFlight.get(accountId);
    const i = this.#threads.indexOf(thread);
    if (inFlight && i >= 0) inFlight[i] = Math.max(inFlight[i]! - 1, 0);
  }

  #lost(thread: SendThread, why: string): void {
    // A worker that fails to load reports it twice (error, then close): once is enough.
    if (this.#closing || thread.dead) return;
    const lost = [...thread.waiting.values()];
    thread.waiting.clear();
    for (const w of lost) {
      this.#answered(thread, w.accountId);
      w.reject(
        Object.assign(new Error(`the SMTP send thread stopped (${why}); the email is tried again`), {
          code: SEND_THREAD_LOST,
        }),
      );
    }
    if (!thread.everReady) {
      // It never started (the binary lacks its entry point, or the code fails to load): starting
      // it again would fail the same way, over and over.
      thread.dead = true;
      thread.worker.terminate();
      this.log.error("an SMTP send thread could not start; its share of the sending runs on the main thread", {
        why,
      });
      return;
    }
    this.log.error("an SMTP send thread stopped; starting a new one", { why, sends_lost: lost.length });
    thread.everReady = false;
    thread.respawn();
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#fallback.close();
    await Promise.all(
      this.#threads
        .filter((thread) => !thread.dead)
        .map(async (thread) => {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, CLOSE_WAIT_MS);
            thread.onClosed = () => {
              clearTimeout(timer);
              resolve();
            };
            thread.post({ kind: "close" });
          });
          thread.worker.terminate();
        }),
    );
  }
}

/** An account's connections split over `threads`: as even as can be, the first threads taking the rest. */
export function connectionShares(maxConnections: number, threads: number): number[] {
  const base = Math.floor(maxConnections / threads);
  const rest = maxConnections % threads;
  return Array.from({ length: threads }, (_, i) => base + (i < rest ? 1 : 0));
}
