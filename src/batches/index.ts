// Batches: many emails in one request, and the controls of a campaign. The module's whole public surface.
export { acceptBatch } from "./accept-batch";
export { completeBatchEmails, type SendBatchRequest, SendBatchSchema } from "./batch-request";
export {
  type BatchDeps,
  batchStopFor,
  cancelBatch,
  getBatch,
  listBatches,
  PAUSED_RECHECK_MS,
  pauseBatch,
  resumeBatch,
} from "./batches";
export { AcceptedBatchSchema, type Batch, type BatchCounts, BatchSchema, BatchStatusSchema } from "./schemas";
