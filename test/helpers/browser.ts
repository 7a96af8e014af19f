// A real browser for the tests of /docs and the dashboard: Debian's chromium driven by
// playwright-core (no bundled browser download). One browser per test file, a fresh context per
// page. Every request that is not to 127.0.0.1 is refused and recorded, and console errors and
// Content-Security-Policy violations are collected, so a test can assert the page asked nothing
// of the outside world and ran cleanly.
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

/**
 * How long a browser action or wait may take before it fails with Playwright's own message.
 * A test that waits must allow more (BROWSER_TEST_TIMEOUT): when bun times a test out it kills the
 * processes the test started, chromium included, and every later test in the file then fails.
 */
export const BROWSER_ACTION_TIMEOUT = 10_000;
/** The limit to give a test (`it(name, fn, BROWSER_TEST_TIMEOUT)`) that drives the browser. */
export const BROWSER_TEST_TIMEOUT = 3 * BROWSER_ACTION_TIMEOUT;

export interface BrowserPage {
  page: Page;
  /** Requests the page made to anywhere but 127.0.0.1, refused before they left (method and URL). */
  outsideRequests: string[];
  /** `console.error` messages and uncaught page errors. */
  consoleErrors: string[];
  /** Content-Security-Policy violations: `securitypolicyviolation` events and chromium's own reports. */
  cspViolations: string[];
}

export interface TestBrowser {
  /** A page in its own context (no shared storage with other pages). */
  newPage(): Promise<BrowserPage>;
  /** Closes every page and the browser. */
  close(): Promise<void>;
}

/** The path of Debian's chromium, or an error saying how to install it (browser tests never skip). */
export function chromiumPath(): string {
  const path = Bun.which("chromium");
  if (!path) {
    throw new Error("Browser tests need Debian's chromium on PATH: apt-get install chromium");
  }
  return path;
}

/** Launches chromium; call once per test file (beforeAll) and close() it in afterAll. */
export async function launchBrowser(): Promise<TestBrowser> {
  const browser: Browser = await chromium.launch({
    executablePath: chromiumPath(),
    // Playwright already passes the flags that keep chromium from phoning home (updates, sync,
    // field trials). No sandbox (--no-sandbox): chromium's refuses to start as root, and CI runs as root.
    chromiumSandbox: false,
    args: ["--disable-gpu"],
  });
  const contexts: BrowserContext[] = [];

  return {
    async newPage() {
      const context = await browser.newContext();
      contexts.push(context);
      context.setDefaultTimeout(BROWSER_ACTION_TIMEOUT);
      const outsideRequests: string[] = [];
      const consoleErrors: string[] = [];
      const cspViolations: string[] = [];

      await context.route("**/*", (route) => {
        const request = route.request();
        if (isLocal(request.url())) return route.continue();
        outsideRequests.push(`${request.method()} ${request.url()}`);
        return route.abort("blockedbyclient");
      });
      await context.routeWebSocket(/.*/, (ws) => {
        if (isLocal(ws.url())) return ws.connectToServer();
        outsideRequests.push(`WEBSOCKET ${ws.url()}`);
        return ws.close();
      });

      // The listener runs before any page script (init scripts are injected by the driver, outside
      // the page's CSP) and reports through a binding, so a violation is seen even if the page breaks.
      await context.exposeBinding("__reportCspViolation", (_source, text: string) => {
        cspViolations.push(text);
      });
      // Source text, not a function: this project's types have no DOM.
      await context.addInitScript(`
        document.addEventListener("securitypolicyviolation", (e) => {
          const where = e.sourceFile + ":" + e.lineNumber;
          __reportCspViolation(e.effectiveDirective + " blocked " + (e.blockedURI || "inline") + " (" + where + ")");
        });
      `);

      const page = await context.newPage();
      page.on("console", (message) => {
        if (message.type() !== "error") return;
        const text = message.text();
        // Chromium reports a CSP refusal on the console too ("Refused to load … because it violates …").
        if (/Content Security Policy/i.test(text)) cspViolations.push(text);
        else consoleErrors.push(text);
      });
      page.on("pageerror", (error) => consoleErrors.push(`uncaught: ${error.message}`));
      return { page, outsideRequests, consoleErrors, cspViolations };
    },

    async close() {
      for (const context of contexts) await context.close();
      await browser.close();
    },
  };
}

function isLocal(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  // data: and blob: URLs are made inside the page and go nowhere.
  if (protocol === "data:" || protocol === "blob:") return true;
  return hostname === "127.0.0.1";
}
