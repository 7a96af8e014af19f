// RFC 5965 abuse feedback reports (ARF), the format mailbox providers' feedback loops (Yahoo/AOL,
// Microsoft JMRP, Fastmail, …) use when a reader presses "this is spam": the
// message/feedback-report part read field by field. Every such report is a complaint about the
// returned message, whatever its Feedback-Type; the type is kept so a caller can tell abuse from
// fraud or a virus report.
import { dateOf } from "./dsn";
import { parseFieldBlocks } from "./header-blocks";

export interface FeedbackReport {
  /** abuse, fraud, virus, other, not-spam (RFC 5965 §7.3 / RFC 6650), lower-cased. */
  feedbackType: string | undefined;
  userAgent?: string;
  version?: string;
  /** Who complained: the original RCPT TO (often redacted or absent: then match by the returned message). */
  originalRcptTo: string[];
  originalMailFrom?: string;
  arrivalAt?: Date;
  sourceIp?: string;
  reportedDomain?: string;
}

/** The fields of a message/feedback-report part, or why it is not one. */
export function parseFeedbackReport(text: string): FeedbackReport | { problem: string } {
  const [fields] = parseFieldBlocks(text);
  if (!fields) return { problem: "the feedback-report part is empty" };
  const feedbackType = fields.get("feedback-type")?.toLowerCase();
  if (!feedbackType) return { problem: "the feedback-report part has no Feedback-Type" };
  const report: FeedbackReport = {
    feedbackType,
    originalRcptTo: fields
      .all("original-rcpt-to")
      .map(bare)
      .filter((a) => a !== ""),
  };
  const set = (key: keyof FeedbackReport, value: string | undefined) => {
    if (value) (report as unknown as Record<string, unknown>)[key] = value;
  };
  set("userAgent", fields.get("user-agent"));
  set("version", fields.get("version"));
  set("originalMailFrom", fields.get("original-mail-from") && bare(fields.get("original-mail-from")!));
  set("sourceIp", fields.get("source-ip"));
  set("reportedDomain", fields.get("reported-domain"));
  const arrival = dateOf(fields.get("arrival-date") ?? fields.get("received-date"));
  if (arrival) report.arrivalAt = arrival;
  return report;
}

const bare = (address: string) => address.replace(/^<(.*)>$/, "$1").trim();
