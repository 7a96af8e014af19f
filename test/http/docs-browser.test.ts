// /docs as a person sees it: the Scalar reference rendered by a real chromium over real HTTP,
// under the page's own CSP, with every request outside 127.0.0.1 refused. What it must show is
// read from /openapi.json, so the page is checked against the document it renders.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { Locator } from "playwright-core";
import { createTestApp, type TestApp } from "../helpers/app";
import { BROWSER_TEST_TIMEOUT, type BrowserPage, launchBrowser, type TestBrowser } from "../helpers/browser";

/** The bundle is ~4 MB of script to fetch and run on a shared 2-core machine. */
const RENDER_TIMEOUT = 30_000;

type Schema = { $ref?: string; example?: unknown; examples?: unknown[] };
type MediaType = { schema?: Schema; example?: unknown; examples?: Record<string, { value?: unknown }> };
type OpenApi = {
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, MediaType> } }>>;
  webhooks?: Record<string, unknown>;
  components: { schemas?: Record<string, Schema> };
};

/** The example a reader is shown for a JSON body: the media type's own, else its schema's. */
function jsonBodyExample(doc: OpenApi, media: MediaType | undefined): unknown {
  if (!media) return undefined;
  if (media.example !== undefined) return media.example;
  const named = Object.values(media.examples ?? {}).find((e) => e.value !== undefined);
  if (named) return named.value;
  const ref = media.schema?.$ref?.replace("#/components/schemas/", "");
  const schema = ref ? doc.components.schemas?.[ref] : media.schema;
  return schema?.example ?? schema?.examples?.[0];
}

/** Text as read, whitespace collapsed (the markdown and Scalar's templates indent freely). */
const readable = (text: string | null) => (text ?? "").replace(/\s+/g, " ").trim();

async function linkNames(list: Locator): Promise<string[]> {
  return (await list.getByRole("link").allTextContents()).map(readable);
}

describe("The API reference at /docs, in a browser", () => {
  let t: TestApp;
  let browser: TestBrowser;
  let docs: BrowserPage;
  let doc: OpenApi;
  let sidebar: Locator;

  beforeAll(async () => {
    t = await createTestApp();
    doc = (await (await t.request("GET", "/openapi.json")).json()) as OpenApi;
    browser = await launchBrowser();
    docs = await browser.newPage();
    await docs.page.goto(`${t.listen()}/docs`);
    await docs.page.getByRole("heading", { name: "Posthorn API", level: 1 }).waitFor({ timeout: RENDER_TIMEOUT });
    sidebar = docs.page.getByRole("complementary", { name: /sidebar/i });
  }, RENDER_TIMEOUT + BROWSER_TEST_TIMEOUT);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  }, BROWSER_TEST_TIMEOUT);

  it(
    "opens on an introduction with a three-step quick start: get a key, add an SMTP account, send",
    async () => {
      const intro = docs.page.getByRole("region", { name: "Introduction" });
      const quickStart = intro.getByRole("heading", { name: "Quick start" });
      await quickStart.waitFor();
      // Scalar cuts the description into blocks at its headings: the steps are the first list after this one.
      const steps = quickStart.locator("xpath=following::ol[1]").getByRole("listitem");
      const texts = (await steps.allTextContents()).map(readable);
      expect(texts).toHaveLength(3);
      expect(texts[0]).toMatch(/API key/);
      expect(texts[0]).toContain("X-API-Key");
      expect(texts[1]).toMatch(/SMTP account/);
      expect(texts[1]).toContain("POST /v1/smtp-accounts");
      expect(texts[2]).toMatch(/^Send\b/);
      expect(texts[2]).toContain("POST /v1/emails");
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    "has the API key scheme selected in the authentication section, ready for a key",
    async () => {
      const auth = docs.page.getByRole("region", { name: "Authentication" });
      await auth.getByRole("button", { name: "Selected Auth Type: ApiKey" }).waitFor();
      expect(await docs.page.getByText("No authentication selected").count()).toBe(0);
      expect(readable(await auth.getByRole("combobox").textContent())).toContain("X-API-Key");
      // The field for the key is there and empty: the page never fills a key in.
      expect(await auth.getByRole("textbox", { name: "Value" }).inputValue()).toBe("");
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    "has exactly one sidebar entry named Webhooks (the events) and one named Webhook endpoints (the tag)",
    async () => {
      expect(await sidebar.getByRole("link", { name: "Webhooks", exact: true }).count()).toBe(1);
      expect(await sidebar.getByRole("link", { name: "Webhook endpoints", exact: true }).count()).toBe(1);

      await sidebar.getByRole("button", { name: "Open Group - Webhooks" }).click();
      const events = sidebar
        .getByRole("listitem")
        .filter({ has: docs.page.getByRole("link", { name: "Webhooks", exact: true }) });
      await events.getByRole("list").waitFor();
      const eventNames = await linkNames(events.getByRole("list"));
      const documented = Object.keys(doc.webhooks ?? {});
      expect(documented.length).toBeGreaterThan(0);
      expect(eventNames).toHaveLength(documented.length);
      for (const event of documented) expect(eventNames.some((name) => name.includes(event))).toBe(true);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    "lists every named schema of /openapi.json under Models, and opens one with its fields",
    async () => {
      const schemaNames = Object.keys(doc.components.schemas ?? {});
      expect(schemaNames).toEqual(expect.arrayContaining(["Problem", "Email", "SmtpAccount"]));

      await sidebar.getByRole("button", { name: "Open Group - Models" }).click();
      const models = sidebar
        .getByRole("listitem")
        .filter({ has: docs.page.getByRole("link", { name: "Models", exact: true }) });
      await models.getByRole("list").waitFor();
      const listed = await linkNames(models.getByRole("list"));
      expect(listed).toEqual(expect.arrayContaining(schemaNames));

      await models.getByRole("link", { name: "Problem", exact: true }).click();
      const problem = docs.page.getByRole("region", { name: "Problem", exact: true });
      await problem.getByRole("heading", { name: "Problem" }).waitFor();
      expect(readable(await problem.textContent())).toContain("request_id");
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    "shows the document's example request body on Send an email, sent with the API key",
    async () => {
      const media = doc.paths["/v1/emails"]?.post?.requestBody?.content["application/json"];
      const example = jsonBodyExample(doc, media) as { from?: unknown } | undefined;
      expect(example?.from).toBeString();

      await sidebar.getByRole("link", { name: /^Send an email/ }).click();
      const requestExample = docs.page.getByRole("group", { name: "Request Example for post/v1/emails" });
      await requestExample.waitFor();
      const code = readable(await requestExample.textContent());
      // The curl snippet pretty-prints the body: the value appears as JSON, whatever the spacing.
      expect(code).toContain(JSON.stringify(example?.from));
      expect(code).toContain("X-API-Key: YOUR_SECRET_TOKEN");
    },
    BROWSER_TEST_TIMEOUT,
  );

  it("ran without console errors or CSP violations, and asked nothing of anywhere but this server", () => {
    expect(docs.consoleErrors).toEqual([]);
    expect(docs.cspViolations).toEqual([]);
    expect(docs.outsideRequests).toEqual([]);
  });
});
