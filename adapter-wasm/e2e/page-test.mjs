// The demo page, end to end, in headless Chromium (Debian's, driven by playwright-core):
// connect, Allow on the fake's consent page, back with the code, Refresh, Revoke; asserts what the
// page shows, that no secret is ever on it, and saves a screenshot.
//
//   SQUARE_MOCK_URL=http://127.0.0.1:PORT node adapter-wasm/e2e/page-test.mjs [--serve]
//
// The fake must run with --control; the demo module must be built into adapter-wasm/demo/pkg
// (scripts/wasm-size). This script serves adapter-wasm/demo (or DEMO_DIR, another directory holding
// the page and its pkg/) on an ephemeral loopback port and registers the demo application with
// the fake for that origin. With --serve it only serves the page, for a person to try it, until
// interrupted.
import { createServer } from "node:http";
import { access, readFile, mkdir } from "node:fs/promises";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

const here = dirname(fileURLToPath(import.meta.url));
// DEMO_DIR serves another build of the same page (scripts/wasm-size's lean build).
const demoDir = normalize(process.env.DEMO_DIR ?? join(here, "..", "demo"));
try {
  await access(join(demoDir, "index.html"));
  await access(join(demoDir, "pkg", "demo_bg.wasm"));
} catch (error) {
  console.error(`no demo page with its module in ${demoDir}: ${error.message}`);
  process.exit(2);
}
const screenshot = process.env.SCREENSHOT ?? join(here, "..", "..", "target", "wasm-demo", "demo-page.png");
const square = process.env.SQUARE_MOCK_URL;
if (!square) {
  console.error("SQUARE_MOCK_URL is not set: start square-oauth-mock --control first (scripts/wasm-check does)");
  process.exit(2);
}
const app = {
  client_id: "sq0idp-WasmDemoPage00001",
  // The fake application's secret, used by the demo's Revoke button only (see the page's note).
  client_secret: "sq0csp-WasmDemoPageSecret-0001",
};

const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json", ".png": "image/png" };

async function serve() {
  let config;
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path === "/config.json") {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      return res.end(JSON.stringify(config));
    }
    const file = normalize(join(demoDir, path === "/" ? "index.html" : path));
    if (!file.startsWith(demoDir)) {
      res.writeHead(403);
      return res.end();
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end("not found");
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  config = { base_url: square, client_id: app.client_id, client_secret: app.client_secret, redirect_uri: `${origin}/` };
  const registered = await fetch(`${square}/__mock/app`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...app, redirect_urls: [config.redirect_uri] }),
  });
  assert.equal(registered.status, 200, `registering the demo application: ${await registered.text()}`);
  return { server, origin };
}

const { server, origin } = await serve();
if (process.argv.includes("--serve")) {
  console.log(`demo page at ${origin}/ (against ${square}); Ctrl-C to stop`);
} else {
  let failed = false;
  try {
    await run(origin);
  } catch (error) {
    failed = true;
    console.error(error);
  } finally {
    server.close();
  }
  process.exit(failed ? 1 : 0);
}

async function run(origin) {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    // Root in a container needs --no-sandbox; the rest keeps Chromium off the (closed) network.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const steps = [];
  const step = (name) => { steps.push(name); console.log(`  page: ${name}`); };
  try {
    const page = await browser.newPage();
    const problems = [];
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    // Chromium logs every 4xx as "Failed to load resource" (the favicon, the revoked token's 401):
    // network noise, not the page's errors.
    page.on("console", (message) => {
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
        problems.push(`console: ${message.text()}`);
      }
    });

    // The refresh token a refresh rotates in appears only in the fake's answer, never in a request
    // the fake logs: taken here from the wire, to check it against the page and the fake.
    const issued = [];
    page.on("response", (response) => {
      if (response.url() === `${square}/oauth2/token` && response.request().method() === "POST" && response.ok()) {
        issued.push(response.json().then((body) => body.refresh_token));
      }
    });

    await page.goto(`${origin}/`);
    await page.locator("body[data-ready=true]").waitFor();
    step("loaded, the module initialised");

    await page.click("#connect");
    await page.waitForURL((url) => url.href.startsWith(`${square}/oauth2/authorize`));
    const authorize = new URL(page.url());
    assert.equal(authorize.searchParams.get("client_id"), app.client_id);
    assert.equal(authorize.searchParams.get("code_challenge_method"), "S256");
    assert.match(authorize.searchParams.get("code_challenge"), /^[A-Za-z0-9_-]{43}$/);
    assert.match(authorize.searchParams.get("state"), /^[A-Za-z0-9_-]{43}$/);
    assert.equal(await page.locator("#application").textContent(), app.client_id);
    step("sent to the fake's consent page with an S256 challenge and a state");

    await page.click("#allow");
    await page.waitForURL((url) => url.href.startsWith(`${origin}/`));
    await page.locator("body[data-state=active]").waitFor();
    assert.equal(new URL(page.url()).search, "", "the code is taken out of the address bar");
    assert.equal(await page.locator("#status").textContent(), "active");
    assert.match(await page.locator("#merchant").textContent(), /^[A-Z0-9]{13}$/);
    assert.equal(await page.locator("#scopes").textContent(), "MERCHANT_PROFILE_READ PAYMENTS_READ");
    const firstAccess = await page.locator("#access-token").textContent();
    const firstRefresh = await page.locator("#refresh-token").textContent();
    assert.match(firstAccess, /^EAAA…\S{4} \(\d+ characters\)$/);
    assert.match(await page.locator("#expires-at").textContent(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.notEqual(await page.locator("#refresh-expires-at").textContent(), "");
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, "the verifier and state are gone once used");
    step("Allow: back with the code, state checked, code exchanged, status active");

    await page.click("#refresh");
    await page.locator("#message", { hasText: "Refreshed" }).waitFor();
    assert.equal(await page.locator("#status").textContent(), "active");
    assert.notEqual(await page.locator("#access-token").textContent(), firstAccess);
    assert.notEqual(await page.locator("#refresh-token").textContent(), firstRefresh, "PKCE refresh tokens rotate");
    assert.equal(issued.length, 2, "one code exchange and one refresh answered");
    const rotated = await issued[1];
    const sha256 = (text) => createHash("sha256").update(text).digest("hex");
    assert.equal(await page.locator("#refresh-token").getAttribute("data-sha256"), sha256(rotated),
      "the module holds the refresh token the refresh was answered with");
    step("Refresh: a new access token and a rotated refresh token, the one the module holds");

    // That token is the fake's current one for this seller: unspent, it refreshes once, and the
    // spent one it replaced does not.
    const refreshWith = (token) => fetch(`${square}/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_id: app.client_id, grant_type: "refresh_token", refresh_token: token }),
    });
    const spent = await issued[0];
    assert.equal((await refreshWith(spent)).status, 400, "the refresh token the page's refresh spent is dead");
    const current = await refreshWith(rotated);
    assert.equal(current.status, 200, `the fake takes the held refresh token: ${current.status}`);
    assert.notEqual((await current.json()).refresh_token, rotated);
    step("the held refresh token is the fake's current one");

    await page.click("#revoke");
    await page.locator("body[data-state=revoked]").waitFor();
    assert.equal(await page.locator("#status").textContent(), "revoked");
    assert.equal(await page.locator("#scopes").textContent(), "MERCHANT_PROFILE_READ PAYMENTS_READ", "what was granted stays shown");
    assert.equal(await page.locator("#error").textContent(), "");
    step("Revoke: the token's status is now revoked");

    // Square's specification answers UNAUTHORIZED for a revoked or expired token alike, where
    // the fake here runs with --specific-token-errors: switched to the specification, a second
    // revoke (which Square accepts again) shows the same token as not valid, without an error.
    const behaviour = (specific) => fetch(`${square}/__mock/behaviour`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ specific_token_errors: specific }),
    });
    assert.equal((await behaviour(false)).status, 200, "the fake switches to the specification's errors");
    await page.click("#revoke");
    await page.locator('body[data-state="not valid (expired or revoked)"]').waitFor();
    assert.equal(await page.locator("#error").textContent(), "");
    assert.equal((await behaviour(true)).status, 200);
    step("With the specification's UNAUTHORIZED, the revoked token reads as not valid");

    await mkdir(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    step(`screenshot saved to ${screenshot}`);

    // Every secret that crossed the wire, from the fake's request log: none may be on the page.
    const log = await (await fetch(`${square}/__mock/requests`)).json();
    // With the tokens that appear only in answers: the rotated ones.
    const secrets = new Set([app.client_secret, await issued[0], await issued[1]]);
    for (const request of log) {
      for (const [name, value] of request.headers) {
        if (name === "authorization") secrets.add(value.replace(/^(Bearer|Client) /, ""));
      }
      if (request.body.startsWith("{")) {
        const body = JSON.parse(request.body);
        for (const key of ["code", "code_verifier", "refresh_token", "access_token", "client_secret"]) {
          if (body[key]) secrets.add(body[key]);
        }
      }
    }
    assert.ok(secrets.size >= 6, `the log holds the flow's secrets (${secrets.size})`);
    const html = await page.content();
    const text = await page.evaluate(() => document.body.innerText);
    for (const secret of secrets) {
      // The demo secret is in config.json by design (the page's note says why), never in the DOM.
      assert.ok(!html.includes(secret) && !text.includes(secret), "a secret is shown on the page");
    }
    step(`no secret on the page (${secrets.size} checked)`);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
  console.log(`page test: ok (${steps.length} steps)`);
}
