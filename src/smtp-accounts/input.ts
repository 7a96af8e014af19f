// The fields an SMTP account is written with. These schemas are the rules: the domain parses
// every write with them (so the CLI and the API obey the same ones) and the HTTP layer uses the
// same schemas to validate requests and to document them in /openapi.json.
import * as v from "valibot";
import type { SmtpSecurity } from "../db";
import { asciiMailDomain, hasControlChars, isAddrSpec, isSmtpHost, MAX_ADDRESS } from "../mail";
import { MAX_STORED_INTEGER, named } from "../validation";
import { DkimDomainField, DkimPrivateKeyField, DkimSelectorField } from "./dkim";

export const SMTP_SECURITIES = ["none", "starttls", "tls"] as const satisfies readonly SmtpSecurity[];
export const IMPLICIT_TLS_PORT = 465;
export const DEFAULT_MAX_CONNECTIONS = 5;
export const MAX_CONNECTIONS_LIMIT = 50;
export const DEFAULT_WEIGHT = 1;
export const MAX_WEIGHT = 1000;
export const MAX_ALLOWED_FROM_DOMAINS = 100;
const MAX_NAME = 200;
const MAX_USERNAME = 320;
const MAX_PASSWORD = 1024;

const noControlChars = v.check(
  (s: string) => !hasControlChars(s),
  "must not contain line breaks or control characters",
);

export const NameField = v.pipe(
  v.string(),
  v.trim(),
  v.minLength(1, "must not be empty"),
  v.maxLength(MAX_NAME),
  noControlChars,
  v.description("A name to recognise the account by."),
);

export const HostField = v.pipe(
  v.string(),
  v.trim(),
  v.check(isSmtpHost, "must be a host name or an IP address"),
  v.description("Host name (IDN allowed) or IP address of the SMTP server."),
  v.examples(["smtp.example.com"]),
);

export const PortField = v.pipe(
  v.number(),
  v.integer("must be a whole number"),
  v.minValue(1, "must be between 1 and 65535"),
  v.maxValue(65535, "must be between 1 and 65535"),
  v.examples([587]),
);

export const SecurityField = v.pipe(
  v.picklist(SMTP_SECURITIES, "must be one of none, starttls, tls"),
  v.description(
    "`tls`: TLS from the first byte (port 465); `starttls`: plain then upgraded, and refused if the " +
      "server cannot upgrade; `none`: never encrypted. Default: `tls` on port 465, `starttls` otherwise.",
  ),
);

export const UsernameField = v.pipe(
  v.string(),
  v.minLength(1, "must not be empty"),
  v.maxLength(MAX_USERNAME),
  noControlChars,
  v.description("SMTP AUTH user name; give it together with `password`, or neither."),
);

export const PasswordField = v.pipe(
  v.string(),
  v.minLength(1, "must not be empty"),
  v.maxLength(MAX_PASSWORD),
  v.description("SMTP AUTH password. Write-only: stored encrypted (AES-256-GCM) and never returned."),
  v.metadata({ writeOnly: true }),
);

export const FromEmailField = v.pipe(
  v.string(),
  v.trim(),
  v.maxLength(MAX_ADDRESS),
  v.check(isAddrSpec, "must be an email address such as news@example.com"),
  v.description(
    "The address mail is sent from unless a send says otherwise (RFC 5322 addr-spec; IDN domains allowed).",
  ),
  v.examples(["news@example.com"]),
);

export const FromNameField = v.pipe(
  v.string(),
  v.trim(),
  v.maxLength(MAX_NAME),
  noControlChars,
  v.description("Display name shown with `from_email`."),
);

const DomainItem = v.pipe(
  v.string(),
  v.trim(),
  v.check((d: string) => asciiMailDomain(d) !== undefined, "must be a domain name such as example.com"),
);

export const AllowedFromDomainsField = v.pipe(
  v.array(DomainItem),
  v.maxLength(MAX_ALLOWED_FROM_DOMAINS),
  v.description(
    "Domains a send may use in `from` besides `from_email` itself (any address on them; subdomains are not " +
      "implied). Kept in lower-case ASCII form: an IDN domain reads back in punycode.",
  ),
  v.examples([["example.com", "mail.example.com"]]),
);

/**
 * A return path is `<prefix>+<token>@<bounce domain>` with a local part of up to 64 octets, and
 * the whole address must stay within 254 (RFC 5321 path limit, what readReturnPath reads).
 */
export const MAX_BOUNCE_DOMAIN = 254 - 64 - 1;

/**
 * Letters (any script, for IDN), digits, hyphens and dots only: the WHATWG domainToASCII under
 * asciiMailDomain drops a URL tail, so `bounce.example.com/x` (or `?x`, `#x`, `%2e`) would pass.
 */
const DOMAIN_CHARS = /^[\p{L}\p{M}\p{N}.-]+$/u;

export const BounceDomainField = v.pipe(
  v.string(),
  v.trim(),
  v.check(
    (d: string) => DOMAIN_CHARS.test(d) && asciiMailDomain(d) !== undefined,
    "must be a domain name such as bounce.example.com",
  ),
  v.check(
    (d: string) => (asciiMailDomain(d)?.length ?? 0) <= MAX_BOUNCE_DOMAIN,
    `must be at most ${MAX_BOUNCE_DOMAIN} characters (in ASCII form), so the return path fits in 254`,
  ),
  v.description(
    "Mail sent with a bounce domain gets a signed return path per recipient (`bounces+<token>@<bounce domain>`, " +
      "one SMTP transaction per recipient) and asks the relay for DSNs, so bounces name the email and the " +
      "recipient. Point the domain's MX at Posthorn's inbound listener. Kept in lower-case ASCII form (an IDN " +
      "domain reads back in punycode); null: none.",
  ),
  v.examples(["bounce.example.com"]),
);

/** The stored form of a bounce domain: lower-case ASCII (punycode), or null. */
export const storedBounceDomain = (domain: string | null | undefined): string | null =>
  domain ? asciiMailDomain(domain)! : null;

export const ActiveField = v.pipe(v.boolean(), v.description("Inactive accounts are never chosen to send."));
export const IsDefaultField = v.pipe(
  v.boolean(),
  v.description("The tenant's default account; marking one unmarks the others."),
);

const limitField = (per: string) =>
  v.pipe(
    v.number(),
    v.integer("must be a whole number"),
    v.minValue(1, "must be at least 1 (or null for no limit)"),
    v.maxValue(MAX_STORED_INTEGER, `must be at most ${MAX_STORED_INTEGER} (or null for no limit)`),
    v.description(`Most emails this account sends per UTC ${per}; null for no limit.`),
  );
export const DailyLimitField = limitField("day");
export const HourlyLimitField = limitField("hour");

export const MaxConnectionsField = v.pipe(
  v.number(),
  v.integer("must be a whole number"),
  v.minValue(1, `must be between 1 and ${MAX_CONNECTIONS_LIMIT}`),
  v.maxValue(MAX_CONNECTIONS_LIMIT, `must be between 1 and ${MAX_CONNECTIONS_LIMIT}`),
  v.description(`Simultaneous connections to this server (default ${DEFAULT_MAX_CONNECTIONS}).`),
);

export const WeightField = v.pipe(
  v.number(),
  v.integer("must be a whole number"),
  v.minValue(1, `must be between 1 and ${MAX_WEIGHT}`),
  v.maxValue(MAX_WEIGHT, `must be between 1 and ${MAX_WEIGHT}`),
  v.description(`Share of traffic among equally healthy accounts (default ${DEFAULT_WEIGHT}).`),
);

/** Every field an account is created with; a PATCH takes any of them (UpdateSmtpAccountSchema). */
const SMTP_ACCOUNT_FIELDS = {
  name: NameField,
  host: HostField,
  port: PortField,
  security: v.optional(SecurityField),
  username: v.optional(v.nullable(UsernameField)),
  password: v.optional(v.nullable(PasswordField)),
  from_email: FromEmailField,
  from_name: v.optional(v.nullable(FromNameField)),
  allowed_from_domains: v.optional(AllowedFromDomainsField),
  active: v.optional(ActiveField),
  is_default: v.optional(IsDefaultField),
  daily_limit: v.optional(v.nullable(DailyLimitField)),
  hourly_limit: v.optional(v.nullable(HourlyLimitField)),
  max_connections: v.optional(MaxConnectionsField),
  weight: v.optional(WeightField),
  dkim_domain: v.optional(v.nullable(DkimDomainField)),
  dkim_selector: v.optional(v.nullable(DkimSelectorField)),
  dkim_private_key: v.optional(v.nullable(DkimPrivateKeyField)),
  bounce_domain: v.optional(v.nullable(BounceDomainField)),
};

export const CreateSmtpAccountSchema = named("CreateSmtpAccountRequest", v.object(SMTP_ACCOUNT_FIELDS), {
  name: "Mailgun EU",
  host: "smtp.eu.mailgun.org",
  port: 587,
  security: "starttls",
  username: "postmaster@mg.example.com",
  password: "correct-horse-battery-staple",
  from_email: "news@example.com",
  from_name: "Example News",
  allowed_from_domains: ["example.com"],
  is_default: true,
  daily_limit: 10000,
  hourly_limit: 1000,
});

/** PATCH: a field left out keeps its value; `null` clears a field that may be empty. */
export const UpdateSmtpAccountSchema = named("UpdateSmtpAccountRequest", v.partial(v.object(SMTP_ACCOUNT_FIELDS)), {
  hourly_limit: 500,
  active: false,
});

export type CreateSmtpAccountInput = v.InferInput<typeof CreateSmtpAccountSchema>;
export type UpdateSmtpAccountInput = v.InferInput<typeof UpdateSmtpAccountSchema>;
export type CreateSmtpAccountFields = v.InferOutput<typeof CreateSmtpAccountSchema>;
export type UpdateSmtpAccountFields = v.InferOutput<typeof UpdateSmtpAccountSchema>;

export const defaultSecurity = (port: number): SmtpSecurity => (port === IMPLICIT_TLS_PORT ? "tls" : "starttls");
