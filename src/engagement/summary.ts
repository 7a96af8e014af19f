// GET /v1/emails/{id}/engagement: an email's opens and clicks, human and machine apart, first
// and last of each, the clicked URLs with their counts, and the same per recipient.
import type { Kysely } from "kysely";
import * as v from "valibot";
import type { Database } from "../db";
import { notFound } from "../errors";
import { Integer, named, Timestamp } from "../validation";
import { type EngagementGroup, engagementGroups } from "./sql";

const Counts = named(
  "EngagementCounts",
  v.object({
    human: v.pipe(Integer, v.description("Hits taken for a person.")),
    machine: v.pipe(
      Integer,
      v.description(
        "Hits taken for a machine: a privacy proxy fetching every image (Apple Mail Privacy Protection), a link " +
          "scanner, a HEAD request, a hit within seconds of sending.",
      ),
    ),
    first_at: v.pipe(v.nullable(Timestamp), v.description("The first hit, human or machine.")),
    last_at: v.nullable(Timestamp),
    first_human_at: v.nullable(Timestamp),
    last_human_at: v.nullable(Timestamp),
  }),
);

const ClickedUrl = named(
  "ClickedUrl",
  v.object({
    url: v.pipe(v.string(), v.description("The link exactly as the email had it.")),
    human: Integer,
    machine: Integer,
  }),
);

const EngagementOf = {
  opens: Counts,
  clicks: Counts,
  urls: v.pipe(v.array(ClickedUrl), v.description("Each clicked URL, most clicked by people first.")),
};

export const EmailEngagementSchema = named(
  "EmailEngagement",
  v.object({
    object: v.literal("email_engagement"),
    email_id: v.string(),
    track_opens: v.boolean(),
    track_clicks: v.boolean(),
    ...EngagementOf,
    recipients: v.pipe(
      v.array(
        named(
          "RecipientEngagement",
          v.object({
            recipient: v.pipe(
              v.nullable(v.string()),
              v.description(
                "The address; null when one message went to several recipients (hits cannot tell them apart).",
              ),
            ),
            ...EngagementOf,
          }),
        ),
      ),
      v.description("Only recipients with at least one hit."),
    ),
  }),
  {
    object: "email_engagement",
    email_id: "em_01m8vv5rm08jhtrpssz9rva8mm",
    track_opens: true,
    track_clicks: true,
    opens: {
      human: 2,
      machine: 1,
      first_at: "2026-12-02T17:00:04.000Z",
      last_at: "2026-12-02T18:31:00.000Z",
      first_human_at: "2026-12-02T17:40:12.000Z",
      last_human_at: "2026-12-02T18:31:00.000Z",
    },
    clicks: {
      human: 1,
      machine: 0,
      first_at: "2026-12-02T17:41:02.000Z",
      last_at: "2026-12-02T17:41:02.000Z",
      first_human_at: "2026-12-02T17:41:02.000Z",
      last_human_at: "2026-12-02T17:41:02.000Z",
    },
    urls: [{ url: "https://example.com/orders/A-1042?utm_source=email", human: 1, machine: 0 }],
    recipients: [],
  },
);

export type EmailEngagement = v.InferOutput<typeof EmailEngagementSchema>;
type Summary = Pick<EmailEngagement, "opens" | "clicks" | "urls">;
type CountsOut = EmailEngagement["opens"];

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

function summarize(groups: EngagementGroup[]): Summary {
  const counts = (kind: "open" | "click"): CountsOut => {
    let human = 0;
    let machine = 0;
    let first: number | undefined;
    let last: number | undefined;
    let firstHuman: number | undefined;
    let lastHuman: number | undefined;
    for (const g of groups) {
      if (g.kind !== kind) continue;
      first = first === undefined ? g.firstAt : Math.min(first, g.firstAt);
      last = last === undefined ? g.lastAt : Math.max(last, g.lastAt);
      if (g.machine) {
        machine += g.count;
      } else {
        human += g.count;
        firstHuman = firstHuman === undefined ? g.firstAt : Math.min(firstHuman, g.firstAt);
        lastHuman = lastHuman === undefined ? g.lastAt : Math.max(lastHuman, g.lastAt);
      }
    }
    return {
      human,
      machine,
      first_at: iso(first),
      last_at: iso(last),
      first_human_at: iso(firstHuman),
      last_human_at: iso(lastHuman),
    };
  };
  const urls = new Map<string, { url: string; human: number; machine: number }>();
  for (const g of groups) {
    if (g.kind !== "click" || g.url === null) continue;
    const u = urls.get(g.url) ?? { url: g.url, human: 0, machine: 0 };
    if (g.machine) u.machine += g.count;
    else u.human += g.count;
    urls.set(g.url, u);
  }
  return {
    opens: counts("open"),
    clicks: counts("click"),
    urls: [...urls.values()].sort((a, b) => b.human - a.human || b.machine - a.machine || (a.url < b.url ? -1 : 1)),
  };
}

/** With `sentWithKey`, only an email accepted with that API key (a `sending` key sees only its own). */
export async function getEmailEngagement(
  db: Kysely<Database>,
  tenantId: string,
  emailId: string,
  sentWithKey?: string,
): Promise<EmailEngagement> {
  const email = await db
    .selectFrom("emails")
    .select(["id", "recipients_json", "track_opens", "track_clicks"])
    .where("id", "=", emailId)
    .where("tenant_id", "=", tenantId)
    .$if(sentWithKey !== undefined, (qb) => qb.where("api_key_id", "=", sentWithKey!))
    .executeTakeFirst();
  if (!email) throw notFound("email");
  const groups = await engagementGroups(db, tenantId, emailId);
  const addresses = (JSON.parse(email.recipients_json) as { email: string }[]).map((r) => r.email);
  // A token names its recipient by index in the email's recipients, by address, or not at all.
  const addressOf = (recipient: string | null) =>
    recipient?.startsWith("#") ? (addresses[Number(recipient.slice(1))] ?? recipient) : recipient;
  const byRecipient = new Map<string | null, EngagementGroup[]>();
  for (const g of groups) {
    const address = addressOf(g.recipient);
    byRecipient.set(address, [...(byRecipient.get(address) ?? []), g]);
  }
  return {
    object: "email_engagement",
    email_id: email.id,
    track_opens: email.track_opens === 1,
    track_clicks: email.track_clicks === 1,
    ...summarize(groups),
    recipients: [...byRecipient].map(([recipient, own]) => ({ recipient, ...summarize(own) })),
  };
}
