// One attempt of one delivery, start to finish: read the endpoint, POST the signed body, write
// the attempt and the delivery's next state (fenced by the lease token), count and log it.
// Shared by the webhook dispatcher and the test endpoint.

import { mayRetry, retryDelayMs } from "../backoff";
import type { Config } from "../config";
import type { SecretBox } from "../crypto";
import type { Db, WriteBatcher } from "../db";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics";
import { type DeliveryOutcome, finishDelivery, type WebhookDeliveryRow } from "./delivery-store";
import { selectEndpointById, signingSecretPlace, type WebhookEndpointRow } from "./endpoint-store";
import { type PostResult, postSignedEvent } from "./post";

export interface DeliverDeps {
  db: Db;
  batcher: WriteBatcher;
  config: Pick<Config, "webhookTimeoutMs" | "webhookRetry" | "webhookAllowPrivate">;
  secrets: SecretBox;
  metrics: Metrics;
  log: Logger;
}

export interface AttemptResult extends PostResult {
  status: DeliveryOutcome["status"];
  /** False when another worker owns the delivery now (nothing was written). */
  kept: boolean;
}

/** The secrets that sign a request: the current one, and the previous one during its overlap. */
export function signingSecrets(
  deps: Pick<DeliverDeps, "secrets">,
  endpoint: WebhookEndpointRow,
  now: number,
): string[] {
  const secrets = [deps.secrets.open(endpoint.secret_sealed, signingSecretPlace(endpoint.id, "secret_sealed"))];
  if (endpoint.previous_secret_sealed && (endpoint.previous_secret_expires_at ?? 0) > now) {
    secrets.push(
      deps.secrets.open(endpoint.previous_secret_sealed, signingSecretPlace(endpoint.id, "previous_secret_sealed")),
    );
  }
  return secrets;
}

export async function attemptDelivery(
  deps: DeliverDeps,
  delivery: WebhookDeliveryRow,
  token: string,
  opts: { retry: boolean; ignoreInactive?: boolean } = { retry: true },
): Promise<AttemptResult> {
  const startedAt = Date.now();
  const attempt = delivery.attempts + 1;
  const endpoint = await selectEndpointById(deps.db.kysely, delivery.endpoint_id);
  const result: PostResult =
    endpoint && (endpoint.active === 1 || opts.ignoreInactive)
      ? await postSignedEvent({
          url: endpoint.url,
          deliveryId: delivery.id,
          body: delivery.payload,
          secrets: signingSecrets(deps, endpoint, startedAt),
          timeoutMs: deps.config.webhookTimeoutMs,
          policy: { allowPrivate: deps.config.webhookAllowPrivate },
        })
      : {
          outcome: "blocked",
          statusCode: null,
          error: "the endpoint was deactivated or deleted",
          responseBody: null,
          durationMs: 0,
          retryable: false,
        };

  const now = Date.now();
  let status: DeliveryOutcome["status"] = "succeeded";
  let runAt = now;
  if (result.outcome !== "success") {
    const again =
      opts.retry && result.retryable && mayRetry(deps.config.webhookRetry, attempt, delivery.created_at, now);
    status = again ? "pending" : "failed";
    if (again) runAt = now + retryDelayMs(deps.config.webhookRetry, attempt);
  }
  const kept = await deps.batcher.write((trx) =>
    finishDelivery(trx, delivery.tenant_id, {
      id: delivery.id,
      token,
      attempt,
      startedAt,
      durationMs: result.durationMs,
      statusCode: result.statusCode,
      error: result.error,
      responseBody: result.responseBody,
      status,
      runAt,
      now,
    }),
  );

  deps.metrics.webhookAttempts.inc({ outcome: result.outcome });
  if (kept && status !== "pending") deps.metrics.webhookDeliveries.inc({ status });
  // The URL is not logged (it may carry credentials), nor the body or the receiver's answer.
  deps.log.info("webhook attempt", {
    delivery_id: delivery.id,
    webhook_id: delivery.endpoint_id,
    tenant_id: delivery.tenant_id,
    email_id: delivery.email_id,
    event_type: delivery.event_type,
    attempt,
    outcome: result.outcome,
    status_code: result.statusCode,
    duration_ms: result.durationMs,
    delivery_status: status,
    ...(status === "pending" ? { next_attempt_at: new Date(runAt).toISOString() } : {}),
  });
  return { ...result, status, kept };
}
