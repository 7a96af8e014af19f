// Opens and clicks of a tracked email: its html gets the open pixel and its links the click
// redirects (src/tracking) when it is composed for sending, here on the main thread where the
// secret key that seals the tokens lives. The stored html stays as it was accepted.
import type { Config } from "../config";
import type { SecretBox } from "../crypto";
import type { EmailRow } from "../emails";
import { trackedHtml } from "../tracking";

/** The row as it is sent: with tracking, its html rewritten; otherwise the row itself. */
export function withTrackedHtml(
  deps: { secrets: SecretBox; config: Pick<Config, "publicUrl"> },
  row: EmailRow,
): EmailRow {
  const publicUrl = deps.config.publicUrl;
  if (row.html_body === null || !publicUrl || (row.track_opens !== 1 && row.track_clicks !== 1)) return row;
  // One message goes to every recipient: it names the recipient only when there is one.
  const recipients = JSON.parse(row.recipients_json) as unknown[];
  const headers = JSON.parse(row.headers_json) as Record<string, string>;
  const html = trackedHtml(deps.secrets, publicUrl, {
    emailId: row.id,
    recipient: recipients.length === 1 ? 0 : undefined,
    html: row.html_body,
    trackOpens: row.track_opens === 1,
    trackClicks: row.track_clicks === 1,
    // The unsubscribe link stays untracked where the html repeats it.
    unsubscribeUrls: [...(headers["List-Unsubscribe"] ?? "").matchAll(/<([^>]+)>/g)].map((m) => m[1]!),
  });
  return { ...row, html_body: html };
}
