// Who holds the leases: each start of a sending server is an instance with a fresh id, and
// every lease token it hands out begins with that id. A start takes back at once what a dead
// predecessor held, instead of leaving its mail until the leases run out.
//
// SQLite: one sending server per database file, held by an exclusive lock on a file beside it
// (a second bun:sqlite connection in an open EXCLUSIVE transaction; the OS drops the lock when
// the process dies, however it dies). A server that gets the lock knows every 'sending' lease
// in the file belongs to a dead process. A second server on the file serves the API but does
// not send: it waits for the lock, and takes over when the first stops or dies.
//
// Postgres: instances share the database. Identity (host and data directory) is what a restart
// keeps; a session advisory lock on it, held for the process lifetime on a reserved connection
// (Postgres drops it when the connection goes), makes sure no live instance has it. A start
// that gets the lock takes back the leases of earlier instances of that identity; heartbeats
// let any instance take back the leases of one that stopped answering for INSTANCE_STALE_MS.
//
// Fencing is unchanged: taking back clears the token, so a zombie's writes match no row, and
// every claim still gets a fresh token.
import { Database as BunDatabase } from "bun:sqlite";
import { closeSync, openSync } from "node:fs";
import { hostname } from "node:os";
import { sql } from "kysely";
import type { Db, WriteBatcher } from "../db";
import { randomChars } from "../ids";
import type { Logger } from "../logger";

/** How often an instance says it is alive (Postgres). */
export const INSTANCE_HEARTBEAT_MS = 5_000;
/**
 * An instance whose heartbeat is this old is taken for dead and its leases are taken back
 * (Postgres). Well above the heartbeat, so a busy instance is not taken for dead; leases
 * shorter than this run out first anyway.
 */
export const INSTANCE_STALE_MS = 30_000;
/** First key of the identity advisory lock: "PHIN" in ASCII (the scheduler's is "PHSC"). */
export const INSTANCE_LOCK_CLASS = 0x5048494e;

export interface Instance {
  id: string;
  /** Every lease token this instance hands out starts with this. */
  leaseTokenPrefix: string;
  /**
   * Resolves once this instance may claim and send: at once, except for a second server on one
   * SQLite file, which waits for the first to stop (never, if this instance stops first).
   */
  maySend: Promise<void>;
  /** Lets go of the instance's lock and row (its leases were handed back by the dispatcher). */
  stop(): Promise<void>;
}

export interface InstanceOptions {
  db: Db;
  batcher: WriteBatcher;
  log: Logger;
  /** The SQLite database file (SQLite only): its lock file sits beside it. */
  sqlitePath: string;
  /** Absolute data directory: with the host name, the identity a restart keeps (Postgres). */
  dataDir: string;
  /** The operator's name for this instance (POSTHORN_INSTANCE_ID), instead of host name + data directory. */
  identity?: string | undefined;
}

/** How often a second server on one SQLite file tries the lock again. */
export const SQLITE_LOCK_RETRY_MS = 1_000;

const leasePrefixOf = (id: string) => `${id}.`;

export async function startInstance(opts: InstanceOptions): Promise<Instance> {
  const id = `in${randomChars(16)}`;
  return opts.db.dialect === "postgres" ? startPostgresInstance(id, opts) : startSqliteInstance(id, opts);
}

async function startSqliteInstance(id: string, opts: InstanceOptions): Promise<Instance> {
  const lockPath = `${opts.sqlitePath}.lock`;
  // Created owner-only; SQLite would create it with the umask's mode.
  closeSync(openSync(lockPath, "a", 0o600));
  const lock = new BunDatabase(lockPath, { create: true });
  // No journal file: nothing is ever written, the transaction only holds the lock.
  const tryLock = (): boolean => {
    try {
      lock.run("PRAGMA journal_mode = MEMORY");
      lock.run("BEGIN EXCLUSIVE");
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === "SQLITE_BUSY") return false;
      throw err;
    }
  };
  let locked = false;
  let retry: ReturnType<typeof setInterval> | undefined;
  /** Nobody else can send from this file: whatever is leased was leased by a process now dead. */
  const takeOver = async () => {
    locked = true;
    const taken = await takeBackLeases(opts.batcher, null);
    if (taken > 0) opts.log.warn("took back the emails a stopped server had in flight", { count: taken });
  };
  let maySend: Promise<void>;
  if (tryLock()) maySend = takeOver();
  else {
    opts.log.warn(
      "another posthorn server sends from this SQLite file: this one serves the API and sends once it stops",
      {
        database: opts.sqlitePath,
        lock: lockPath,
        hint: "run one server per SQLite file; use Postgres (DATABASE_URL) to run several",
      },
    );
    maySend = new Promise<void>((resolve, reject) => {
      retry = setInterval(() => {
        try {
          if (!tryLock()) return;
          clearInterval(retry);
          takeOver().then(resolve, reject);
        } catch (err) {
          clearInterval(retry);
          reject(err);
        }
      }, SQLITE_LOCK_RETRY_MS);
    });
  }
  return {
    id,
    leaseTokenPrefix: leasePrefixOf(id),
    maySend,
    stop: async () => {
      clearInterval(retry);
      if (locked) lock.run("ROLLBACK");
      lock.close();
    },
  };
}

async function startPostgresInstance(id: string, opts: InstanceOptions): Promise<Instance> {
  const { db, batcher, log } = opts;
  const pg = db.pg!;
  const identity = opts.identity ?? `${hostname()}:${opts.dataDir}`;
  let reserved: Awaited<ReturnType<typeof pg.reserve>> | undefined;
  /** The server process of the connection holding the lock: a new one means a reconnect, the lock gone. */
  let lockBackend: number | undefined;
  /** Holds the identity lock on a connection of its own; false when a live instance has it. */
  const takeIdentityLock = async (): Promise<boolean> => {
    reserved ??= await pg.reserve();
    const rows = await reserved`
      select pg_try_advisory_lock(${INSTANCE_LOCK_CLASS}::integer, hashtext(current_schema() || '/' || ${identity})) as locked,
        pg_backend_pid() as backend`;
    lockBackend = rows[0]?.backend;
    return rows[0]?.locked === true;
  };
  /** Whether the identity lock is still held (its connection may have been dropped and made again). */
  const stillHeld = async (): Promise<boolean> => {
    if (!reserved) return false;
    const rows = await reserved`select pg_backend_pid() as backend`;
    return rows[0]?.backend === lockBackend;
  };
  let ownsIdentity = false;
  try {
    ownsIdentity = await takeIdentityLock();
  } catch (err) {
    log.warn("could not take this instance's identity lock; dead instances' mail comes back by heartbeat", { err });
  }

  const now = Date.now();
  if (ownsIdentity) {
    const predecessors = await db.kysely
      .selectFrom("instances")
      .select("id")
      .where("identity", "=", identity)
      .where("id", "<>", id)
      .execute();
    for (const p of predecessors) {
      const taken = await takeBackFrom(batcher, p.id);
      if (taken > 0)
        log.warn("took back the emails a stopped predecessor had in flight", { instance: p.id, count: taken });
    }
  } else {
    log.warn("another live instance has this identity (same host and data directory)", {
      identity,
      hint: "give each instance its own data directory so a restart takes back its mail at once",
    });
  }
  await db.kysely
    .insertInto("instances")
    .values({ id, identity, host: hostname(), pid: process.pid, started_at: now, heartbeat_at: now })
    .execute();

  /** Since when this instance's heartbeats have been succeeding without a miss. */
  let aliveSince = now;
  let beating: Promise<void> | undefined;
  const heartbeat = async () => {
    const at = Date.now();
    try {
      const r = await db.kysely
        .updateTable("instances")
        .set({ heartbeat_at: at })
        .where("id", "=", id)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) {
        // Taken for dead by another instance (its leases are gone): say so, and be counted again.
        log.warn("this instance was taken for dead; its in-flight emails were taken back", { instance: id });
        await db.kysely
          .insertInto("instances")
          .values({ id, identity, host: hostname(), pid: process.pid, started_at: at, heartbeat_at: at })
          .execute();
      }
      // The identity lock goes with a dropped connection: take it again.
      if (!ownsIdentity || !(await stillHeld())) ownsIdentity = await takeIdentityLock();
      // Judge others only after being connected for a whole stale period: after a database
      // outage every heartbeat is old, the live instances' too.
      if (at - aliveSince >= INSTANCE_STALE_MS) {
        for (const [instance, count] of await takeBackFromStaleInstances(db, batcher, id, at)) {
          if (count > 0) log.warn("took back the emails of an instance that stopped answering", { instance, count });
        }
      }
    } catch (err) {
      aliveSince = Date.now();
      if (reserved) {
        reserved.release();
        reserved = undefined;
        ownsIdentity = false;
      }
      log.error("instance heartbeat failed", { err });
    }
  };
  const timer = setInterval(() => {
    beating ??= heartbeat().finally(() => {
      beating = undefined;
    });
  }, INSTANCE_HEARTBEAT_MS);
  timer.unref();

  return {
    id,
    leaseTokenPrefix: leasePrefixOf(id),
    maySend: Promise.resolve(),
    stop: async () => {
      clearInterval(timer);
      await beating;
      try {
        await db.kysely.deleteFrom("instances").where("id", "=", id).execute();
        if (reserved && ownsIdentity) await reserved`select pg_advisory_unlock_all()`;
      } catch (err) {
        log.warn("could not remove this instance's row", { err });
      } finally {
        reserved?.release();
      }
    },
  };
}

/**
 * Takes back the leases of every instance but `self` whose heartbeat is older than
 * INSTANCE_STALE_MS at `now`, and forgets them. Returns how many emails each one held.
 */
export async function takeBackFromStaleInstances(
  db: Db,
  batcher: WriteBatcher,
  self: string,
  now: number,
): Promise<Map<string, number>> {
  const stale = await db.kysely
    .selectFrom("instances")
    .select("id")
    .where("heartbeat_at", "<", now - INSTANCE_STALE_MS)
    .where("id", "<>", self)
    .execute();
  const taken = new Map<string, number>();
  for (const s of stale) taken.set(s.id, await takeBackFrom(batcher, s.id));
  return taken;
}

/** An instance's leases back in the queue, due now, and its row gone. */
async function takeBackFrom(batcher: WriteBatcher, instanceId: string): Promise<number> {
  const taken = await takeBackLeases(batcher, instanceId);
  await batcher.write((trx) => trx.deleteFrom("instances").where("id", "=", instanceId).execute());
  return taken;
}

/**
 * Emails leased by `instanceId` (every leased email when null) go back to the queue, due now.
 * The token is cleared: whoever held it can no longer finish or extend them.
 */
export async function takeBackLeases(
  batcher: WriteBatcher,
  instanceId: string | null,
  now = Date.now(),
): Promise<number> {
  const r = await batcher.write((trx) => {
    let q = trx
      .updateTable("emails")
      .set({ status: "queued", lease_token: null, lease_until: null, run_at: now, updated_at: now })
      .where("status", "=", "sending");
    if (instanceId !== null) {
      const prefix = leasePrefixOf(instanceId);
      q = q.where(sql<string>`substr(lease_token, 1, ${prefix.length})`, "=", prefix);
    }
    return q.executeTakeFirst();
  });
  return Number(r.numUpdatedRows);
}
