// What `POST /v1/emails` accepts. The same schema validates requests and documents them.
import * as v from "valibot";
import {
  type Address,
  addressProblem,
  CONTENT_MAX_DOC,
  MAX_ADDRESS,
  MAX_ADDRESS_STRING,
  MAX_NAME_LENGTH,
  nameProblem,
  parseAddressString,
} from "../mail";
import { Integer, named } from "../validation";
import { ContentFields, contentChoice } from "./content-fields";

export const MAX_SUBJECT_LENGTH = 998; // RFC 5322 line limit
export const MAX_CUSTOM_HEADERS = 50;
export const MAX_TAGS = 20;
export const MAX_METADATA_KEYS = 50;
export const MAX_METADATA_VALUE_LENGTH = 1000;
export const MAX_SCHEDULE_AHEAD_MS = 365 * 86_400_000;

/** Headers Posthorn writes itself; a caller may not set them. */
const RESERVED_HEADERS = new Set([
  "from",
  "to",
  "cc",
  "bcc",
  "subject",
  "reply-to",
  "sender",
  "message-id",
  "date",
  "mime-version",
  "content-type",
  "content-transfer-encoding",
  "dkim-signature",
  "return-path",
]);
const HEADER_NAME = /^[!-9;-~]{1,76}$/;
const NO_CRLF = /^[^\r\n\0]*$/;

// Lengths are bounded in the schema, before any parsing, so no address check ever sees a huge string.
const AddressObject = v.object({
  email: v.pipe(
    v.string(),
    v.maxLength(MAX_ADDRESS, `must be at most ${MAX_ADDRESS} characters`),
    v.description("The address, e.g. `ada@example.com`; IDN domains allowed."),
  ),
  name: v.optional(
    v.pipe(
      v.string(),
      v.maxLength(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`),
      v.description("Display name."),
    ),
  ),
});

const AddressString = v.pipe(
  v.string(),
  v.maxLength(
    MAX_ADDRESS_STRING,
    `must be at most ${MAX_ADDRESS_STRING} characters (a display name of up to ${MAX_NAME_LENGTH} and an address of up to ${MAX_ADDRESS})`,
  ),
);

const AddressInputSchema = v.pipe(
  v.union([AddressString, AddressObject], "must be an address string or { email, name }"),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const raw = dataset.value;
    const addr: Address | undefined =
      typeof raw === "string"
        ? parseAddressString(raw)
        : { email: raw.email.trim(), name: raw.name?.trim() || undefined };
    const problem = addr ? addressProblem(addr.email) : "is not an email address";
    if (problem) {
      addIssue({ message: problem });
      return NEVER;
    }
    const nameIssue = addr?.name ? nameProblem(addr.name) : undefined;
    if (nameIssue) {
      addIssue({ message: `name ${nameIssue}` });
      return NEVER;
    }
    return addr as Address;
  }),
);

/** An address as an object or as a string (`ada@example.com` or `Ada <ada@example.com>`). */
export const AddressInput = named(
  "AddressInput",
  v.pipe(
    AddressInputSchema,
    v.description("`ada@example.com`, `Ada Lovelace <ada@example.com>` or `{ email, name }`."),
  ),
);

const AddressList = v.pipe(v.array(AddressInput), v.maxLength(1000));

const HeaderValue = v.pipe(v.string(), v.regex(NO_CRLF, "must not contain CR or LF"), v.maxLength(998));

/** The fields alone (a batch's `defaults` and items are partial forms of them). */
export const SendEmailFields = v.object({
  from: v.optional(AddressInput),
  to: v.pipe(AddressList, v.minLength(1, "needs at least one recipient")),
  cc: v.optional(AddressList),
  bcc: v.optional(AddressList),
  reply_to: v.optional(v.union([AddressInput, v.pipe(v.array(AddressInput), v.maxLength(10))])),
  subject: v.optional(
    v.pipe(
      v.string(),
      v.regex(NO_CRLF, "must not contain CR or LF"),
      v.maxLength(MAX_SUBJECT_LENGTH),
      v.description("Subject line; non-ASCII is encoded for you. Required unless `template_id` is given."),
    ),
  ),
  text: v.optional(v.pipe(v.string(), v.description(`Plain-text body. ${CONTENT_MAX_DOC}`))),
  html: v.optional(v.pipe(v.string(), v.description(`HTML body. ${CONTENT_MAX_DOC}`))),
  headers: v.optional(
    v.pipe(
      v.record(v.pipe(v.string(), v.regex(HEADER_NAME, "is not a valid header name")), HeaderValue),
      v.check((h) => Object.keys(h).length <= MAX_CUSTOM_HEADERS, `at most ${MAX_CUSTOM_HEADERS} headers`),
      v.rawCheck(({ dataset, addIssue }) => {
        if (!dataset.typed) return;
        for (const name of Object.keys(dataset.value)) {
          if (RESERVED_HEADERS.has(name.toLowerCase())) {
            addIssue({
              message: `${name} is set by Posthorn; use the dedicated field instead`,
              path: [{ type: "object", origin: "key", input: dataset.value, key: name, value: dataset.value[name] }],
            });
          }
        }
      }),
      v.description("Extra headers (e.g. `X-Entity-Ref-ID`). Values may not contain CR/LF."),
    ),
  ),
  priority: v.optional(v.pipe(Integer, v.minValue(1), v.maxValue(5), v.description("1 (highest) to 5; default 3."))),
  scheduled_at: v.optional(
    v.pipe(
      v.string(),
      v.isoTimestamp("must be an RFC 3339 timestamp, e.g. 2026-12-01T09:00:00Z"),
      v.description("Send later: an RFC 3339 time up to 365 days ahead."),
    ),
  ),
  smtp_account_id: v.optional(v.pipe(v.string(), v.description("Send only through this account."))),
  tags: v.optional(
    v.pipe(
      v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(100), v.regex(NO_CRLF, "must not contain CR or LF"))),
      v.maxLength(MAX_TAGS),
    ),
  ),
  metadata: v.optional(
    v.pipe(
      v.record(v.pipe(v.string(), v.maxLength(100)), v.pipe(v.string(), v.maxLength(MAX_METADATA_VALUE_LENGTH))),
      v.check((m) => Object.keys(m).length <= MAX_METADATA_KEYS, `at most ${MAX_METADATA_KEYS} keys`),
      v.description("Your own string key/values, returned with the email and in webhooks."),
    ),
  ),
  track_opens: v.optional(
    v.pipe(
      v.boolean(),
      v.description(
        "Add an open pixel to the html part (needs POSTHORN_PUBLIC_URL). Default: the tenant's setting (off). " +
          "Opens are read back with `GET /v1/emails/{id}/engagement`.",
      ),
    ),
  ),
  track_clicks: v.optional(
    v.pipe(
      v.boolean(),
      v.description(
        "Send the html part's http(s) links through a redirect that records the click (needs POSTHORN_PUBLIC_URL). " +
          "`mailto:`, `tel:`, the unsubscribe link and links marked `data-posthorn-notrack` are left alone. " +
          "Default: the tenant's setting (off).",
      ),
    ),
  ),
  ...ContentFields,
});

export const SendEmailSchema = named(
  "SendEmailRequest",
  v.pipe(SendEmailFields, contentChoice<v.InferOutput<typeof SendEmailFields>>()),
  {
    from: "Acme <app@example.com>",
    to: [{ email: "ada@example.org", name: "Ada Lovelace" }],
    subject: "Your receipt",
    text: "Thanks for your order A-1042.",
    html: "<p>Thanks for your order <b>A-1042</b>.</p>",
    tags: ["receipt"],
    metadata: { order_id: "A-1042" },
  },
);

export type SendEmailRequest = v.InferOutput<typeof SendEmailSchema>;
