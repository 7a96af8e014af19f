// Tells machine opens and clicks from human ones, so stats can show people apart from the mail
// privacy proxies that fetch every image and the link scanners that follow every link. A guess
// from the user agent, the method and the timing, never a certainty; the rules, and what each
// gets wrong, are written beside them. Pure: the caller passes the hit and the email's other hits.
//
// What the rules know (as reported by senders and the vendors' own pages, 2021–2025):
// - Apple Mail Privacy Protection fetches every image of a message through Apple's relays when
//   it reaches the device, opened or not. Its requests carry a bare `Mozilla/5.0` or the WebKit
//   user agent of Apple Mail itself (no `Safari/` or `Version/` token). Apple Mail with MPP off
//   sends that same user agent on a real open; with MPP on for most Apple Mail users (SocketLabs
//   measured ~90 %), counting those as machine is the smaller error. Apple's relay addresses
//   would tell them apart, but no IP address is kept by default, so this does not use one.
// - Gmail (`GoogleImageProxy`) and Yahoo (`YahooMailProxy`) fetch images through their proxies
//   when the reader opens the message (then serve a cached copy on later opens), so a proxy open
//   is human unless it comes in the seconds after sending, which is a prefetch or a scan.
// - Link scanners (Microsoft Safe Links / Defender, Proofpoint, Mimecast, Barracuda and other
//   gateways) follow every link on delivery, mostly with a browser's user agent; they show in the
//   timing: a hit seconds after sending, or several links within one second, or a HEAD request.
//   Some name themselves (`Barracuda Sentinel (EE)`, `BingPreview`), as do HTTP libraries,
//   headless browsers and crawlers. Microsoft Office checks a link with its own user agent
//   (`ms-office`, `Microsoft Office Existence Discovery`) before opening the browser.

export type HitKind = "open" | "click";

export interface TrackingHit {
  kind: HitKind;
  userAgent: string | undefined;
  /** The HTTP method (GET, HEAD…). */
  method: string;
  /** When the hit came, in ms since the epoch. */
  at: number;
  /** When the email was sent (the relay's 250), in ms since the epoch; undefined if unknown. */
  sentAt: number | undefined;
  /** For a click: the index of the link followed. */
  linkIndex?: number;
  /**
   * The email's other hits of the same kind for the same recipient. Earlier ones, and later ones
   * too when re-classifying: the first click of a scanner's burst looks human until the second.
   */
  previousHits: { at: number; linkIndex?: number }[];
}

export type MachineReason =
  | "head_request"
  | "no_user_agent"
  | "apple_mail_privacy_protection"
  | "generic_user_agent"
  | "image_proxy"
  | "headless_browser"
  | "http_library"
  | "security_scanner"
  | "office_link_check"
  | "bot"
  | "soon_after_sending"
  | "click_burst";

export interface HitClass {
  machine: boolean;
  /** Why it was taken for a machine. */
  reason?: MachineReason;
  /** The mail provider's image proxy the hit came through, human or not (its later opens are cached). */
  proxy?: "google_image_proxy" | "yahoo_mail_proxy";
}

/**
 * No person gets a message, opens it and clicks in this time; scanners hit on delivery. Counted
 * from the send, before delivery: so this is a few seconds after the message lands. A reader
 * opening a one-time code within it is counted as a machine (the error this rule accepts).
 */
export const DELIVERY_SCAN_WINDOW_MS = 10_000;
/** Different links clicked within this of each other are a scanner: a person follows one, reads, returns. */
export const CLICK_BURST_MS = 1_000;
/** More hits than this on any links within CLICK_BURST_MS of each other (a person's double click is 2). */
const MAX_HUMAN_HITS_IN_BURST = 2;

const HUMAN: HitClass = { machine: false };
const machine = (reason: MachineReason, proxy?: HitClass["proxy"]): HitClass =>
  proxy ? { machine: true, reason, proxy } : { machine: true, reason };

export function classifyHit(hit: TrackingHit): HitClass {
  const ua = (hit.userAgent ?? "").trim();
  if (hit.method.toUpperCase() === "HEAD") return machine("head_request");
  if (ua === "") return machine("no_user_agent");
  const byAgent = classifyUserAgent(hit.kind, ua);
  if (byAgent?.machine) return byAgent;
  const soon = hit.sentAt !== undefined && hit.at - hit.sentAt < DELIVERY_SCAN_WINDOW_MS;
  if (soon) return machine("soon_after_sending", byAgent?.proxy);
  if (hit.kind === "click" && isClickBurst(hit)) return machine("click_burst");
  return byAgent ?? HUMAN;
}

function classifyUserAgent(kind: HitKind, ua: string): HitClass | undefined {
  const proxy = GOOGLE_IMAGE_PROXY.test(ua)
    ? "google_image_proxy"
    : YAHOO_MAIL_PROXY.test(ua)
      ? "yahoo_mail_proxy"
      : undefined;
  // A proxy fetches images; it does not follow links.
  if (proxy) return kind === "click" ? machine("image_proxy", proxy) : { machine: false, proxy };
  if (ua === BARE_MOZILLA) return machine(kind === "open" ? "apple_mail_privacy_protection" : "generic_user_agent");
  // Apple Mail's shape on a click is an in-app web view of some mail app, a person.
  if (kind === "open" && APPLE_MAIL.test(ua)) return machine("apple_mail_privacy_protection");
  if (HEADLESS_BROWSER.test(ua)) return machine("headless_browser");
  if (HTTP_LIBRARY.test(ua)) return machine("http_library");
  if (SECURITY_SCANNER.test(ua)) return machine("security_scanner");
  if (kind === "click" && OFFICE_LINK_CHECK.test(ua)) return machine("office_link_check");
  if (BOT.test(ua)) return machine("bot");
  return undefined;
}

function isClickBurst(hit: TrackingHit): boolean {
  const near = hit.previousHits.filter((other) => Math.abs(other.at - hit.at) <= CLICK_BURST_MS);
  return (
    near.length >= MAX_HUMAN_HITS_IN_BURST ||
    near.some((other) => other.linkIndex !== undefined && other.linkIndex !== hit.linkIndex)
  );
}

const GOOGLE_IMAGE_PROXY = /GoogleImageProxy/i;
const YAHOO_MAIL_PROXY = /YahooMailProxy/i;
/** No browser or mail client sends only this. */
const BARE_MOZILLA = "Mozilla/5.0";
/** Apple Mail on macOS, iOS and iPadOS (and MPP's relays): WebKit with nothing after `(KHTML, like Gecko)` but `Mobile/…`. */
const APPLE_MAIL =
  /^Mozilla\/5\.0 \((?:Macintosh|iPhone|iPad|iPod)[^)]*\) AppleWebKit\/[\d.]+\+? \(KHTML, like Gecko\)(?: Mobile\/\w+)?$/;
const HEADLESS_BROWSER = /HeadlessChrome|PhantomJS|\bHeadless\b|Puppeteer|Playwright|Selenium|webdriver/i;
/** Programs, not browsers: their user agents start with the library's name. */
const HTTP_LIBRARY =
  /^(?:curl|Wget|python-requests|python-urllib3|Python-urllib|python-httpx|Python\/[\d.]+ aiohttp|aiohttp|Go-http-client|Java|okhttp|Apache-HttpClient|libwww-perl|LWP::|node-fetch|node|undici|axios|got|Bun|Deno|PostmanRuntime|HTTPie|Ruby|Faraday|GuzzleHttp|Dart|reqwest|Scrapy|AHC|lua-resty-http|http\.rb|RestSharp|Jakarta)(?:[/ ;(]|$)/i;
/** Gateways that name themselves, and Microsoft's link preview (Outlook.com and Safe Links). */
const SECURITY_SCANNER =
  /Barracuda|Proofpoint|Mimecast|IronPort|Cisco ?Secure ?Email|Forcepoint|Trend ?Micro|Sophos|FortiMail|Hornetsecurity|SpamTitan|Symantec|McAfee|\bVade\b|BingPreview|SafeLinks|Safe Links/i;
const OFFICE_LINK_CHECK = /ms-office|MSOffice|Microsoft Office|Microsoft Outlook/i;
/** Crawlers and link previews: `Googlebot/2.1`, `Slackbot-LinkExpanding`, `(…; +http://…)`. Not `CUBOT X19` (a phone). */
const BOT =
  /(?:bot|crawler|spider)(?:[/;)-]|$)|\+https?:\/\/|facebookexternalhit|Slurp|WhatsApp\/|Preview\b|LinkCheck|Validator|Monitor\b/i;
