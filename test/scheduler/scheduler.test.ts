import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { join } from "node:path";
import { type Db, openDatabase } from "../../src/db/database";
import { createLogger, type Logger } from "../../src/logger";
import { type JobRun, Scheduler } from "../../src/scheduler";
import { SCHEDULER_LOCK_CLASS } from "../../src/scheduler/claim";
import { HOUR_MS } from "../../src/time-windows";
import { handTicks } from "../helpers/clock";
import { TEST_DIALECT, type TempDatabase, tempDatabase } from "../helpers/db";

/** Another connection to the same database, as a second Posthorn process would have. */
function openSecondConnection(temp: TempDatabase): Db {
  return openDatabase({
    databaseUrl: temp.config.databaseUrl,
    sqlitePath: join(temp.config.dataDir, "posthorn.db"),
    sqliteSynchronous: temp.config.sqliteSynchronous,
    pgSchema: temp.pgSchema,
  });
}

function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { log: createLogger("debug", (line) => lines.push(JSON.parse(line))), lines };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(10);
  }
}

describe(`scheduler (${TEST_DIALECT})`, () => {
  let temp: TempDatabase;
  let secondDb: Db;

  beforeAll(async () => {
    temp = await tempDatabase();
    secondDb = openSecondConnection(temp);
  });
  afterAll(async () => {
    await secondDb.close();
    await temp.cleanup();
  });

  describe("a job that must run once per window", () => {
    it("runs on exactly one of several instances, once per window", async () => {
      let clock = Date.parse("2024-05-01T10:15:00Z");
      const windows: number[] = [];
      const instances = [temp.db, secondDb, temp.db, secondDb].map((db) =>
        new Scheduler(db, createLogger("error"), { now: () => clock }).every(
          "hourly-report",
          { windowMs: HOUR_MS },
          ({ window }) => {
            windows.push(window);
          },
          { once: true },
        ),
      );
      const runAll = () => Promise.all(instances.map((s) => s.runNow("hourly-report")));
      const count = (runs: JobRun[], what: JobRun) => runs.filter((r) => r === what).length;

      const first = await runAll();
      expect(count(first, "ran")).toBe(1);
      expect(count(first, "claimed_elsewhere")).toBe(3);

      clock += 30 * 60_000; // 10:45, same window
      expect(count(await runAll(), "ran")).toBe(0);

      clock += 30 * 60_000; // 11:15, the next window
      expect(count(await runAll(), "ran")).toBe(1);

      expect(windows.map((w) => new Date(w).toISOString())).toEqual([
        "2024-05-01T10:00:00.000Z",
        "2024-05-01T11:00:00.000Z",
      ]);
      const row = await temp.db.kysely
        .selectFrom("scheduler_runs")
        .selectAll()
        .where("job", "=", "hourly-report")
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({ last_window: Date.parse("2024-05-01T11:00:00Z"), runs: 2 });
    });

    it("takes a cron pattern's window from its latest match", async () => {
      const at = Date.parse("2024-05-01T07:30:00Z");
      let seen: number | undefined;
      const scheduler = new Scheduler(temp.db, createLogger("error"), { now: () => at }).every(
        "six-hourly",
        { cron: "0 0 */6 * * *" },
        ({ window }) => {
          seen = window;
        },
        { once: true },
      );
      expect(await scheduler.runNow("six-hourly")).toBe("ran");
      expect(new Date(seen ?? 0).toISOString()).toBe("2024-05-01T06:00:00.000Z");
      expect(await scheduler.runNow("six-hourly")).toBe("claimed_elsewhere");
    });

    // Advisory locks exist only on Postgres; the SQLite run has no such case to test.
    if (TEST_DIALECT === "postgres")
      it("steps aside while another session holds its advisory lock", async () => {
        const job = "locked-job";
        const scheduler = new Scheduler(temp.db, createLogger("error")).every(job, { windowMs: HOUR_MS }, () => {}, {
          once: true,
        });
        const pg = secondDb.pg!;
        const whileLocked = await pg.begin(async (tx) => {
          await tx`select pg_advisory_xact_lock(${SCHEDULER_LOCK_CLASS}::int, hashtext(current_schema() || '/' || ${job}))`;
          return scheduler.runNow(job);
        });
        expect(whileLocked).toBe("claimed_elsewhere");
        // The lock guarded the claim only; the window is still there to take once it is released.
        expect(await scheduler.runNow(job)).toBe("ran");
      });
  });

  it("runs a job that is not `once` on every instance", async () => {
    let runs = 0;
    const make = (db: Db) =>
      new Scheduler(db, createLogger("error")).every(
        "promote",
        { windowMs: 1_000 },
        () => {
          runs++;
        },
        { once: false },
      );
    expect(await Promise.all([make(temp.db).runNow("promote"), make(secondDb).runNow("promote")])).toEqual([
      "ran",
      "ran",
    ]);
    expect(runs).toBe(2);
    const row = await temp.db.kysely
      .selectFrom("scheduler_runs")
      .select("job")
      .where("job", "=", "promote")
      .executeTakeFirst();
    expect(row).toBeUndefined();
  });

  describe("on its ticks (two started instances, ticked by hand)", () => {
    const { log, lines } = capturingLogger();
    const everyTick = new Map<string, number>([
      ["first", 0],
      ["second", 0],
    ]);
    let throwingCalls = 0;
    // Per instance: the two instances' slow jobs may well overlap each other, which is fine.
    const slowRunning = new Map<string, number>();
    const slowMostAtOnce = new Map<string, number>();
    let catchUpRuns = 0;
    const hand = handTicks();
    let releaseSlow = () => {};
    const slowGate = new Promise<void>((resolve) => {
      releaseSlow = resolve;
    });

    beforeAll(async () => {
      const instances = (["first", "second"] as const).map((name, i) => {
        const scheduler = new Scheduler(i === 0 ? temp.db : secondDb, log.child({ instance: name }), {
          ticks: hand.ticks,
        });
        scheduler.every(
          "tick",
          { windowMs: 1_000 },
          () => {
            everyTick.set(name, (everyTick.get(name) ?? 0) + 1);
          },
          { once: false },
        );
        scheduler.every(
          `throws-${name}`,
          { windowMs: 1_000 },
          () => {
            throwingCalls++;
            throw new Error("boom");
          },
          { once: false },
        );
        scheduler.every(
          `slow-${name}`,
          { windowMs: 1_000 },
          async () => {
            const running = (slowRunning.get(name) ?? 0) + 1;
            slowRunning.set(name, running);
            slowMostAtOnce.set(name, Math.max(slowMostAtOnce.get(name) ?? 0, running));
            await slowGate;
            slowRunning.set(name, (slowRunning.get(name) ?? 1) - 1);
          },
          { once: false },
        );
        // A daily job both instances catch up on at start: the window still gets one run only.
        scheduler.every(
          "daily-catch-up",
          { windowMs: 24 * HOUR_MS },
          () => {
            catchUpRuns++;
          },
          { once: true },
        );
        return { name, scheduler };
      });
      for (const { scheduler } of instances) scheduler.start();
      // The slow jobs' first runs outlast every tick that follows.
      const slowRuns = instances.map(({ name, scheduler }) => scheduler.runNow(`slow-${name}`));
      for (let i = 0; i < 3; i++) await hand.tick();
      releaseSlow();
      await Promise.all(slowRuns);
      // stop() waits for what is under way, the start-up catch-up runs included.
      await Promise.all(instances.map(({ scheduler }) => scheduler.stop()));
    });

    it("runs a job that is not `once` on every tick of every instance", () => {
      expect(everyTick.get("first")).toBe(3);
      expect(everyTick.get("second")).toBe(3);
    });

    it("logs a job that throws, with its name, and runs it again on the next tick", () => {
      expect(throwingCalls).toBe(6);
      const failures = lines.filter((l) => l.msg === "scheduled job failed" && l.job === "throws-first");
      expect(failures).toHaveLength(3);
      expect(failures[0]).toMatchObject({ level: "error", instance: "first", err: { message: "boom" } });
    });

    it("does not start a run beside one that outlasts its interval", () => {
      expect(slowMostAtOnce.get("first")).toBe(1);
      expect(slowMostAtOnce.get("second")).toBe(1);
      const skipped = lines.filter((l) => l.job === "slow-first" && String(l.msg).includes("still going"));
      expect(skipped).toHaveLength(3);
    });

    it("catches up a `once` job's window at start, on one instance only", () => {
      expect(catchUpRuns).toBe(1);
    });

    it("starts nothing once stopped", async () => {
      const before = everyTick.get("first");
      await hand.tick();
      expect(everyTick.get("first")).toBe(before);
    });
  });

  it("stop() waits for the run under way and starts no other", async () => {
    let started = 0;
    let finished = 0;
    let release = () => {};
    const hand = handTicks();
    const scheduler = new Scheduler(temp.db, createLogger("error"), { ticks: hand.ticks }).every(
      "long",
      { windowMs: 1_000 },
      async () => {
        started++;
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        finished++;
      },
      { once: false, runOnStart: true },
    );
    scheduler.start();
    await waitFor(() => started === 1);
    expect(await scheduler.runNow("long")).toBe("busy");
    const stopped = scheduler.stop();
    release();
    await stopped;
    expect(finished).toBe(1);
    await hand.tick();
    expect(started).toBe(1);
  });
});
