// Hourly and daily send counters, kept per account in windows: a count belongs to the window
// that starts at hour_window/day_window, and a count from an older window reads as zero. So a
// limit is right even when nothing reset the counter at the boundary (the process was down),
// and reserving a slot is one conditional UPDATE: atomic across instances, never over a limit.
import { type Kysely, sql } from "kysely";
import type { Database } from "../db/schema";
import {
  dayWindowStart as dayStart,
  hourWindowStart as hourStart,
  nextDayWindowStart,
  nextHourWindowStart,
} from "../scheduler/windows";

/** Counts one send against the account if both limits have room; false when either is reached. */
export async function reserveSendSlot(trx: Kysely<Database>, accountId: string, now: number): Promise<boolean> {
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
  return Number(r.numUpdatedRows) === 1;
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

/** What a limit-blocked account waits for: the moment one of its windows reopens. */
export function nextWindowOpening(
  account: { daily_limit: number | null; sent_today: number },
  now: number,
): { at: number; hold: "hourly_limit" | "daily_limit" } {
  // Counts are of the current windows (read as 0 once a window is over).
  const dayFull = account.daily_limit !== null && account.sent_today >= account.daily_limit;
  return dayFull
    ? { at: nextDayWindowStart(now), hold: "daily_limit" }
    : { at: nextHourWindowStart(now), hold: "hourly_limit" };
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
