// What every benchmark receives and returns.
import type { Dialect } from "./product";
import type { Row } from "./report";

export interface BenchContext {
  /** Databases to run on, already checked: Postgres is left out when no server answers. */
  dialects: Dialect[];
  /** Why a requested dialect was left out (reported in the tables), by dialect. */
  unavailable: Partial<Record<Dialect, string>>;
  /** Progress for the console (stderr), prefixed with the benchmark's name. */
  log(message: string): void;
}

export interface Benchmark {
  name: string;
  title: string;
  /** One line for the table's heading: what is measured, against what. */
  about: string;
  /** True when the database matters (runs once per dialect); false: runs once. */
  perDialect: boolean;
  run(ctx: BenchContext): Promise<Row[]>;
}
