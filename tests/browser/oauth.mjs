// Connect with Notion in a real browser (headless Debian Chromium driven by playwright-core):
// the authorize URL opened as a user would, Notion's (the emulator's) consent redirect, our
// callback page rendered; the returnUrl redirect; a failure page. Run by
// infra/local/browser.sh with BASE (the local stack) and KEY (an API key) set.
import { chromium } from "playwright-core";
import http from "node:http";
import assert from "node:assert/strict";

const BASE = process.env.BASE;
const KEY = process.env.KEY;
const api = async (path, body) => {
  const response = await fetch(`${BASE}/api/v1${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  assert.equal(response.status, 200, `${path}: ${JSON.stringify(json)}`);
  return json;
};

// The app a returnUrl points at.
const app = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/html" });
  res.end("<!doctype html><title>Back in the app</title><h1>Back in the app</h1>");
});
await new Promise((resolve) => app.listen(0, "127.0.0.1", resolve));
const appPort = app.address().port;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
try {
  const page = await browser.newPage();
  const dataset = (await api("/dataset/create", { name: "Browser" })).id;

  // 1. Connected: the page renders, names the workspace, and is accessible enough.
  const first = (await api("/integration/notion/create", { name: "Browser", datasetId: dataset })).id;
  const { url } = await api(`/integration/notion/${first}/authenticate`, {});
  const response = await page.goto(url);
  assert.equal(response.status(), 200);
  assert.ok(page.url().startsWith(`${BASE}/api/v1/integration/notion/oauth/callback?`), page.url());
  assert.equal(await page.title(), "Notion connected");
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.equal(await page.textContent("h1"), "Notion connected");
  assert.match(await page.textContent("main p"), /Emulated Workspace is connected/);
  assert.equal(await page.locator("script").count(), 0);
  const box = await page.locator("main").boundingBox();
  assert.ok(box && box.width > 0 && box.height > 0, "the page renders visibly");
  await page.screenshot({ path: process.env.SCREENSHOT || "/tmp/oauth-connected.png" });
  const connected = await api(`/integration/notion/${first}/fetch`);
  assert.equal(connected.workspace.name, "Emulated Workspace");
  assert.equal(connected.token, "********");

  // 2. With a returnUrl: the browser ends up back in the app.
  const second = (await api("/integration/notion/create", { name: "Browser 2", datasetId: dataset })).id;
  const returnUrl = `http://127.0.0.1:${appPort}/settings?tab=notion`;
  const again = await api(`/integration/notion/${second}/authenticate`, { returnUrl });
  await page.goto(again.url);
  assert.equal(page.url(), `${returnUrl}&connected=${second}`);
  assert.equal(await page.title(), "Back in the app");

  // 3. A link used twice: a failure page, rendered.
  const stale = await page.goto(`${BASE}/api/v1/integration/notion/oauth/callback?code=x&state=${"A".repeat(43)}`);
  assert.equal(stale.status(), 400);
  assert.equal(await page.textContent("h1"), "Notion was not connected");
  assert.match(await page.textContent("main p"), /already used or is unknown/);
  console.log("browser: the connected page, the returnUrl redirect and a failure page render in Chromium");
} finally {
  await browser.close();
  app.close();
}
