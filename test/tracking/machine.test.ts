// Machine opens and clicks: the user agents of real clients, proxies, scanners and programs, and
// the timing that gives scanners away, each with the verdict the stats will show.
import { describe, expect, it } from "bun:test";
import {
  CLICK_BURST_MS,
  classifyHit,
  DELIVERY_SCAN_WINDOW_MS,
  type HitClass,
  type MachineReason,
  type TrackingHit,
} from "../../src/tracking";

const SENT_AT = Date.parse("2026-12-02T10:00:00Z");
const LATER = SENT_AT + 3_600_000;

const UA = {
  chrome:
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  firefox: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
  iphoneSafari:
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
  androidChrome:
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
  cubotPhone:
    "Mozilla/5.0 (Linux; Android 9; CUBOT X19) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.45 Mobile Safari/537.36",
  edge: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
  samsung:
    "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
  facebookInApp:
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/480.0.0.38.107;FBBV/650043436;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.6;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/652307429]",
  outlookIos: "Outlook-iOS/709.2189947.prod.iphone (3.24.1)",
  thunderbird: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0",
  outlookDesktop: "Mozilla/4.0 (compatible; ms-office; MSOffice 16)",
  outlookOffice: "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
  appleMailMac: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
  appleMailIphone:
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
  bareMozilla: "Mozilla/5.0",
  gmailProxy: "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
  yahooProxy: "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
  headlessChrome:
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36",
  phantomjs: "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
  curl: "curl/8.5.0",
  pythonRequests: "python-requests/2.31.0",
  goHttp: "Go-http-client/1.1",
  wget: "Wget/1.21.3",
  aiohttp: "Python/3.9 aiohttp/3.8.1",
  okhttp: "okhttp/4.10.0",
  apacheHttp: "Apache-HttpClient/4.5.14 (Java/17.0.9)",
  nodeFetch: "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
  barracuda: "Barracuda Sentinel (EE)",
  bingPreview: "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/534+ (KHTML, like Gecko) BingPreview/1.0b",
  officeDiscovery: "Microsoft Office Existence Discovery",
  googlebot: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
  slackbot: "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
  facebook: "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
};

const hit = (over: Partial<TrackingHit>): TrackingHit => ({
  kind: "open",
  userAgent: UA.chrome,
  method: "GET",
  at: LATER,
  sentAt: SENT_AT,
  previousHits: [],
  ...over,
});

const human: HitClass = { machine: false };
const machine = (reason: MachineReason, proxy?: HitClass["proxy"]): HitClass =>
  proxy ? { machine: true, reason, proxy } : { machine: true, reason };

describe("classifyHit, by user agent, an hour after sending", () => {
  const cases: [string, keyof typeof UA | "", string, HitClass][] = [
    ["a Chrome reader's open", "chrome", "open", human],
    ["a Firefox reader's click", "firefox", "click", human],
    ["an iPhone Safari click", "iphoneSafari", "click", human],
    ["an Android Chrome click", "androidChrome", "click", human],
    ["a click from a CUBOT phone (not a bot)", "cubotPhone", "click", human],
    ["an Edge click", "edge", "click", human],
    ["a Samsung Internet click", "samsung", "click", human],
    ["a click in Facebook's in-app browser", "facebookInApp", "click", human],
    ["an open in Facebook's in-app browser (not Apple Mail's shape)", "facebookInApp", "open", human],
    ["an Outlook for iOS open", "outlookIos", "open", human],
    ["a Thunderbird open", "thunderbird", "open", human],
    ["an Outlook desktop open (ms-office)", "outlookDesktop", "open", human],
    ["an Outlook desktop open (Microsoft Office)", "outlookOffice", "open", human],
    ["Outlook checking a link before opening the browser", "outlookDesktop", "click", machine("office_link_check")],
    ["Office's existence discovery of a link", "officeDiscovery", "click", machine("office_link_check")],
    [
      "a Gmail open through Google's image proxy",
      "gmailProxy",
      "open",
      { machine: false, proxy: "google_image_proxy" },
    ],
    ["a Yahoo open through its mail proxy", "yahooProxy", "open", { machine: false, proxy: "yahoo_mail_proxy" }],
    [
      "a click claiming to be Google's image proxy",
      "gmailProxy",
      "click",
      machine("image_proxy", "google_image_proxy"),
    ],
    ["Apple MPP's bare Mozilla/5.0 open", "bareMozilla", "open", machine("apple_mail_privacy_protection")],
    [
      "an open with Apple Mail's macOS user agent (MPP)",
      "appleMailMac",
      "open",
      machine("apple_mail_privacy_protection"),
    ],
    [
      "an open with Apple Mail's iOS user agent (MPP)",
      "appleMailIphone",
      "open",
      machine("apple_mail_privacy_protection"),
    ],
    ["a click from an iOS mail app's web view", "appleMailIphone", "click", human],
    ["a bare Mozilla/5.0 click", "bareMozilla", "click", machine("generic_user_agent")],
    ["headless Chrome", "headlessChrome", "click", machine("headless_browser")],
    ["PhantomJS", "phantomjs", "open", machine("headless_browser")],
    ["curl", "curl", "click", machine("http_library")],
    ["python-requests", "pythonRequests", "click", machine("http_library")],
    ["Go's http client", "goHttp", "click", machine("http_library")],
    ["Wget", "wget", "open", machine("http_library")],
    ["aiohttp", "aiohttp", "click", machine("http_library")],
    ["okhttp", "okhttp", "click", machine("http_library")],
    ["Apache HttpClient", "apacheHttp", "click", machine("http_library")],
    ["node-fetch", "nodeFetch", "click", machine("http_library")],
    ["Barracuda's link scanner", "barracuda", "click", machine("security_scanner")],
    ["Microsoft's BingPreview", "bingPreview", "click", machine("security_scanner")],
    ["Googlebot", "googlebot", "click", machine("bot")],
    ["Slack's link expander", "slackbot", "click", machine("bot")],
    ["Facebook's link preview", "facebook", "open", machine("bot")],
    ["no user agent at all", "", "click", machine("no_user_agent")],
  ];

  for (const [name, agent, kind, expected] of cases) {
    it(`${name}: ${expected.machine ? `machine (${expected.reason})` : "human"}`, () => {
      const userAgent = agent === "" ? undefined : UA[agent];
      expect(classifyHit(hit({ kind: kind as TrackingHit["kind"], userAgent, linkIndex: 0 }))).toEqual(expected);
    });
  }
});

describe("classifyHit, by method and timing", () => {
  it("takes a HEAD request for a machine (a scanner checking the link), whatever the user agent", () => {
    expect(classifyHit(hit({ kind: "click", method: "HEAD" }))).toEqual(machine("head_request"));
    expect(classifyHit(hit({ kind: "open", method: "head" }))).toEqual(machine("head_request"));
  });

  it("takes a click in the seconds after sending for a scanner, and one just after for a person", () => {
    const justBefore = SENT_AT + DELIVERY_SCAN_WINDOW_MS - 1;
    expect(classifyHit(hit({ kind: "click", at: SENT_AT + 1_500 }))).toEqual(machine("soon_after_sending"));
    expect(classifyHit(hit({ kind: "click", at: justBefore }))).toEqual(machine("soon_after_sending"));
    expect(classifyHit(hit({ kind: "click", at: SENT_AT + DELIVERY_SCAN_WINDOW_MS }))).toEqual(human);
  });

  it("takes a proxy's fetch in the seconds after sending for a prefetch, keeping the proxy's name", () => {
    expect(classifyHit(hit({ userAgent: UA.gmailProxy, at: SENT_AT + 2_000 }))).toEqual(
      machine("soon_after_sending", "google_image_proxy"),
    );
    expect(classifyHit(hit({ userAgent: UA.chrome, at: SENT_AT + 2_000 }))).toEqual(machine("soon_after_sending"));
  });

  it("does not judge the timing when the send time is unknown", () => {
    expect(classifyHit(hit({ kind: "click", sentAt: undefined, at: SENT_AT + 100 }))).toEqual(human);
  });

  it("takes a click on another link within a second of the last for a scanner's burst", () => {
    const previousHits = [{ at: LATER - 400, linkIndex: 0 }];
    expect(classifyHit(hit({ kind: "click", linkIndex: 1, previousHits }))).toEqual(machine("click_burst"));
  });

  it("re-classifies the first click of a burst once the later ones are known", () => {
    const first = hit({ kind: "click", linkIndex: 0, at: LATER });
    expect(classifyHit(first)).toEqual(human);
    expect(classifyHit({ ...first, previousHits: [{ at: LATER + 300, linkIndex: 1 }] })).toEqual(
      machine("click_burst"),
    );
  });

  it("lets a person double-click one link, or click another after a pause", () => {
    expect(
      classifyHit(hit({ kind: "click", linkIndex: 0, previousHits: [{ at: LATER - 200, linkIndex: 0 }] })),
    ).toEqual(human);
    expect(
      classifyHit(
        hit({ kind: "click", linkIndex: 1, previousHits: [{ at: LATER - CLICK_BURST_MS - 1, linkIndex: 0 }] }),
      ),
    ).toEqual(human);
  });

  it("takes three hits on one link within a second for a machine", () => {
    const previousHits = [
      { at: LATER - 300, linkIndex: 0 },
      { at: LATER - 100, linkIndex: 0 },
    ];
    expect(classifyHit(hit({ kind: "click", linkIndex: 0, previousHits }))).toEqual(machine("click_burst"));
  });

  it("does not call opens a burst: a client may fetch the pixel twice as it renders", () => {
    const previousHits = [{ at: LATER - 100 }, { at: LATER - 50 }];
    expect(classifyHit(hit({ kind: "open", previousHits }))).toEqual(human);
  });
});
