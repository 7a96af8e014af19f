// Hourly and daily send counters, kept per account in windows: a count belongs to the window
// that starts at hour_window/day_window, and a count from an older window reads as zero. So a
// limit is right even when nothing reset the counter at the boundary (the process was down),
// and reserving a slot is one conditional UPDATE: atomic across instances, never over a limit.
import { type Kysely, sql } from "kysely";
import type { Database } from "../db";
import { perDatabase, reusableQuery } from "../db";
import {
  dayWindowStart as dayStart,
  hourWindowStart as hourStart,
  nextDayWindowStart,
  nextHourWindowStart,
} from "../time-windows";

/** Which limit refused a send slot. */
export type LimitHold = "hourly_limit" | "daily_limit";

/**
 * Counts one send against the account if both limits have room (true). When either is reached,
 * says which, from the counters as they are now in the database: a cached copy of the account
 * may predate sends by this or other instances (a daily limit reached by them was reported as
 * "hourly limit reached", and the email retried every hour instead of waiting for the day).
 */
export async function reserveSendSlot(
  trx: Kysely<Database>,
  accountId: string,
  now: number,
): Promise<true | LimitHold> {
  const h = hourStart(now);
  const d = dayStart(now);
  const r = await trx
    .updateTable("smtp_accounts")
    .set({
      sent_this_hour: sql`case when hour_window = ${h} then sent_this_hour + 1 else 1 end`,
      hour_window: h,
      sent_today: sql`case when day_window = ${d} then sent_today + 1 else 1 end`,
      day_window: d,
    })
    .where("id", "=", accountId)
    .where("active", "=", 1)
    .where((eb) =>
      eb.and([
        eb.or([
          eb("hourly_limit", "is", null),
          eb("hour_window", "<>", h),
          eb("sent_this_hour", "<", eb.ref("hourly_limit")),
        ]),
        eb.or([eb("daily_limit", "is", null), eb("day_window", "<>", d), eb("sent_today", "<", eb.ref("daily_limit"))]),
      ]),
    )
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) === 1) return true;
  const counts = await trx
    .selectFrom("smtp_accounts")
    .select(["daily_limit", "sent_today", "day_window"])
    .where("id", "=", accountId)
    .executeTakeFirst();
  const dayFull = counts?.daily_limit != null && counts.day_window === d && counts.sent_today >= counts.daily_limit;
  return dayFull ? "daily_limit" : "hourly_limit";
}

/** Gives back a slot taken by reserveSendSlot when nothing was delivered (throttled mail is not "sent"). */
export async function releaseSendSlot(trx: Kysely<Database>, accountId: string, reservedAt: number): Promise<void> {
  const h = hourStart(reservedAt);
  const d = dayStart(reservedAt);
  await trx
    .updateTable("smtp_accounts")
    .set({
      sent_this_hour: sql`case when hour_window = ${h} and sent_this_hour > 0 then sent_this_hour - 1 else sent_this_hour end`,
      sent_today: sql`case when day_window = ${d} and sent_today > 0 then sent_today - 1 else sent_today end`,
    })
    .where("id", "=", accountId)
    .execute();
}

/** When an account refused by `hold` has room again: the start of the next hour or day. */
export function nextWindowOpening(hold: LimitHold, now: number): { at: number; hold: LimitHold } {
  return { at: hold === "daily_limit" ? nextDayWindowStart(now) : nextHourWindowStart(now), hold };
}

/** Zeroes counters left over from past windows (what a reader would compute anyway). */
export async function resetStaleSendCounters(trx: Kysely<Database>, now: number): Promise<void> {
  const h = hourStart(now);
  const d = dayStart(now);
  await trx
    .updateTable("smtp_accounts")
    .set({ sent_this_hour: 0, hour_window: h })
    .where("hour_window", "<", h)
    .execute();
  await trx.updateTable("smtp_accounts").set({ sent_today: 0, day_window: d }).where("day_window", "<", d).execute();
}

/** What a send did to its account, written once the email's outcome is kept. */
export interface SendResult {
  id: string;
  ok: boolean;
  error: string | null;
  /** The slot reserved for this send is given back: nothing was delivered. */
  releaseSlotReservedAt: number | null;
  /** Count the send on the account's counters now (accounts without limits reserve no slot). */
  countSent: boolean;
}

const ERROR_TEXT_MAX = 1000;

/** Run once per email sent, so compiled once (src/db/reusable-query.ts). */
const sendResultStatements = perDatabase((db: Kysely<Database>) => ({
  /** A send that worked: the account is healthy, and counts it unless its slot was reserved before. */
  succeeded: reusableQuery(
    ["now", "hour", "day", "count", "id"],
    (p: { now: number; hour: number; day: number; count: number; id: string }) =>
      db
        .updateTable("smtp_accounts")
        .set({
          last_sent_at: p.now,
          consecutive_failures: 0,
          sent_this_hour: sql`case when hour_window = ${p.hour} then sent_this_hour + ${p.count} else ${p.count} end`,
          hour_window: p.hour,
          sent_today: sql`case when day_window = ${p.day} then sent_today + ${p.count} else ${p.count} end`,
          day_window: p.day,
        })
        .where("id", "=", p.id),
  ),
  failed: reusableQuery(["error", "now", "id"], (p: { error: string | null; now: number; id: string }) =>
    db
      .updateTable("smtp_accounts")
      .set({ last_error: p.error, last_error_at: p.now, consecutive_failures: sql`consecutive_failures + 1` })
      .where("id", "=", p.id),
  ),
}));

/**
 * The account's statements for a kept send outcome — its health and counters, and a reserved
 * slot given back — issued at once (the account row first) inside the outcome's transaction.
 */
export function recordSendResult(
  db: Kysely<Database>,
  trx: Kysely<Database>,
  result: SendResult,
  now: number,
): Promise<unknown>[] {
  const q = sendResultStatements(db);
  const writes: Promise<unknown>[] = [
    trx.executeQuery(
      result.ok
        ? q.succeeded({ now, hour: hourStart(now), day: dayStart(now), count: result.countSent ? 1 : 0, id: result.id })
        : q.failed({ error: result.error?.slice(0, ERROR_TEXT_MAX) ?? null, now, id: result.id }),
    ),
  ];
  if (result.releaseSlotReservedAt !== null) writes.push(releaseSendSlot(trx, result.id, result.releaseSlotReservedAt));
  return writes;
}
