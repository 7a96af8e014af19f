// Recurring jobs on croner, safe when several instances share one database. A job is either
// idempotent and runs on every tick of every instance (promote due emails, rescue leases), or
// marked `once` and runs at most once per window across all instances (prune, reports): each
// tick first claims the window in the database, and only the winner runs it.
import { Cron } from "croner";
import type { Db } from "../db";
import type { Logger } from "../logger";
import { DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS, windowStart } from "../time-windows";
import { claimJobWindow } from "./claim";

/**
 * When a job runs: every `windowMs` (a whole number of seconds that divides a minute, an hour
 * or a day, so windows start at the same UTC instants on every instance), or on a croner
 * pattern (seconds first when it has six fields), read in UTC; a window then lasts from one
 * match to the next.
 */
export type JobSchedule = { windowMs: number } | { cron: string };

export interface JobOptions {
  /** Run at most once per window across all instances sharing the database. */
  once: boolean;
  /**
   * Also run at start(), for the window the process is in. Defaults to `once`: a window whose
   * boundary passed while every instance was down still gets its run (and only one).
   */
  runOnStart?: boolean;
}

export interface JobContext {
  /** Start (ms) of the window this run is for. */
  window: number;
  /** When the run began (ms), by the scheduler's clock. */
  now: number;
}

export type JobFn = (context: JobContext) => unknown;

/** What one call of a job came to. */
export type JobRun =
  /** It ran to the end. */
  | "ran"
  /** It threw; the error is logged. A `once` job's window counts as used. */
  | "failed"
  /** Its previous run in this process is still going, so this one was skipped. */
  | "busy"
  /** A `once` job whose window another run (here or on another instance) already has. */
  | "claimed_elsewhere";

interface Job {
  name: string;
  pattern: string;
  windowOf(now: number): number;
  fn: JobFn;
  once: boolean;
  runOnStart: boolean;
  running: Promise<JobRun> | undefined;
  cron: { stop(): void } | undefined;
}

/** Calls `tick` on every occurrence of a cron pattern until stopped. */
export type TickSource = (pattern: string, tick: () => Promise<void>) => { stop(): void };

export interface SchedulerOptions {
  /** The clock (ms); tests move it to cross window boundaries. */
  now?: () => number;
  /** What calls a job's ticks: croner in UTC by default; tests tick by hand. */
  ticks?: TickSource;
}

/** Patterns read in UTC, so day windows start at 00:00Z wherever the server stands. */
const TIMEZONE = "Etc/UTC";

export class Scheduler {
  readonly #db: Db;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #ticks: TickSource;
  readonly #jobs = new Map<string, Job>();
  #started = false;

  constructor(db: Db, log: Logger, options: SchedulerOptions = {}) {
    this.#db = db;
    this.#log = log;
    this.#now = options.now ?? Date.now;
    this.#ticks = options.ticks ?? ((pattern, tick) => this.#croner(pattern, tick));
  }

  /** Registers a job; registered after start(), it is scheduled at once. */
  every(name: string, schedule: JobSchedule, fn: JobFn, options: JobOptions): this {
    if (this.#jobs.has(name)) throw new Error(`scheduler: a job named ${name} is already registered`);
    const job: Job = {
      name,
      ...timing(schedule),
      fn,
      once: options.once,
      runOnStart: options.runOnStart ?? options.once,
      running: undefined,
      cron: undefined,
    };
    this.#jobs.set(name, job);
    if (this.#started) this.#schedule(job);
    return this;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const job of this.#jobs.values()) this.#schedule(job);
  }

  /** No new runs start; resolves once the runs under way have finished. */
  async stop(): Promise<void> {
    this.#started = false;
    for (const job of this.#jobs.values()) {
      job.cron?.stop();
      job.cron = undefined;
    }
    await Promise.all([...this.#jobs.values()].map((job) => job.running));
  }

  /** Runs a job now, under the same rules as a tick (claims its window when `once`). */
  runNow(name: string): Promise<JobRun> {
    const job = this.#jobs.get(name);
    if (!job) throw new Error(`scheduler: no job named ${name}`);
    return this.#run(job);
  }

  get jobNames(): string[] {
    return [...this.#jobs.keys()];
  }

  #schedule(job: Job): void {
    job.cron = this.#ticks(job.pattern, async () => {
      // A run that outlasts its interval is not started again beside itself.
      if (job.running) {
        this.#log.debug("scheduled job skipped: its previous run is still going", { job: job.name });
        return;
      }
      await this.#run(job);
    });
    if (job.runOnStart) void this.#run(job);
  }

  #croner(pattern: string, tick: () => Promise<void>): { stop(): void } {
    return new Cron(
      pattern,
      {
        timezone: TIMEZONE,
        // #run catches the job's own errors; this only guards against a bug in the wrapper.
        catch: (err) => this.#log.error("scheduler failure", { err }),
        // The server keeps the process alive; a CLI command or a test that forgets stop() should not hang.
        unref: true,
      },
      tick,
    );
  }

  #run(job: Job): Promise<JobRun> {
    // croner's `protect` covers ticks; this also covers runNow() and runOnStart meeting a tick.
    if (job.running) return Promise.resolve("busy");
    const run = this.#execute(job).finally(() => {
      job.running = undefined;
    });
    job.running = run;
    return run;
  }

  async #execute(job: Job): Promise<JobRun> {
    const now = this.#now();
    const window = job.windowOf(now);
    const fields = { job: job.name, window: new Date(window).toISOString() };
    try {
      if (job.once && !(await claimJobWindow(this.#db, job.name, window, now))) {
        this.#log.debug("scheduled job not run: its window is claimed", fields);
        return "claimed_elsewhere";
      }
      await job.fn({ window, now });
      this.#log.debug("scheduled job ran", { ...fields, duration_ms: this.#now() - now });
      return "ran";
    } catch (err) {
      this.#log.error("scheduled job failed", { ...fields, err });
      return "failed";
    }
  }
}

/** The croner pattern and the window function of a schedule. */
function timing(schedule: JobSchedule): Pick<Job, "pattern" | "windowOf"> {
  if ("cron" in schedule) {
    // A pattern-only Cron (no function) is never scheduled; it answers "latest match at or before".
    const planner = new Cron(schedule.cron, { timezone: TIMEZONE });
    return {
      pattern: schedule.cron,
      windowOf: (now) => planner.previousRuns(1, new Date(now + 1))[0]?.getTime() ?? now,
    };
  }
  const { windowMs } = schedule;
  return { pattern: patternForWindow(windowMs), windowOf: (now) => windowStart(now, windowMs) };
}

/** A croner pattern (with seconds) that matches exactly at the starts of `windowMs` windows. */
export function patternForWindow(windowMs: number): string {
  const seconds = windowMs / SECOND_MS;
  if (Number.isInteger(seconds) && seconds >= 1) {
    const divides = (unit: number, whole: number) =>
      windowMs % unit === 0 && windowMs < whole && whole % windowMs === 0;
    if (divides(SECOND_MS, MINUTE_MS)) return `${step(seconds)} * * * * *`;
    if (divides(MINUTE_MS, HOUR_MS)) return `0 ${step(windowMs / MINUTE_MS)} * * * *`;
    if (divides(HOUR_MS, DAY_MS)) return `0 0 ${step(windowMs / HOUR_MS)} * * *`;
    if (windowMs === DAY_MS) return "0 0 0 * * *";
  }
  throw new Error(
    `scheduler: windowMs ${windowMs} must be whole seconds dividing a minute, an hour or a day (or a day itself)`,
  );
}

const step = (n: number) => (n === 1 ? "*" : `*/${n}`);
