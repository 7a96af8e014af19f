// Group commit, the write engine every module writes through: writes that arrive together share
// one transaction (write-batcher.ts), gathered Postgres writes of one kind go out as a few bulk
// statements (bulk-flushes.ts) over pipelined transactions (pipelined-transaction.ts).

export {
  BulkFlushes,
  type BulkResult,
  type BulkWrite,
  type BulkWriter,
  MAX_BULK_UNITS_PER_COMMIT,
  POSTGRES_BULK_FLUSHES_IN_FLIGHT,
} from "./bulk-flushes";
export { insertRowsAsJson } from "./json-rows-insert";
export { PipelinedTransactions } from "./pipelined-transaction";
export {
  BACKGROUND_GATHER_MS,
  BACKGROUND_RETRY_FOR_MS,
  BACKGROUND_RETRY_PAUSE_MS,
  MAX_UNITS_PER_COMMIT,
  WriteBatcher,
  type WriteOptions,
} from "./write-batcher";
export { allFinished, type WriteUnit } from "./write-unit";
