// The marketplace example (vault/examples/marketplace.rs), end to end in headless Chromium
// (Debian's, driven by playwright-core): open the sellers page, Connect with Square, Allow on the
// fake's consent page, see the seller listed as fresh; the seller then removes the application at
// the fake, which sends the signed oauth.authorization.revoked webhook; see the seller listed as
// revoked. Saves a screenshot. Along the way: a forged webhook and a replayed or foreign callback
// are refused, and no secret reaches the page.
//
//   MARKETPLACE_BIN=target/debug/examples/marketplace node vault/e2e/marketplace-test.mjs
//
// With MARKETPLACE_E2E_POSTGRES=1 the example keeps its vault in the PostgreSQL database the libpq
// variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE) name, through DATABASE_URL; it must be
// built with the `postgres` feature and the database must hold no sellers yet.
// scripts/marketplace-e2e builds the example and runs this (with --postgres, in a throwaway
// cluster). playwright-core comes from
// adapter-wasm/e2e's node_modules (its committed lock file), shared with the wasm demo's test.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createInterface } from "node:readline";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const target = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(root, "target");
const binary = process.env.MARKETPLACE_BIN ?? join(target, "debug", "examples", "marketplace");
const outDir = join(target, "marketplace-e2e");
const screenshot = process.env.SCREENSHOT ?? join(outDir, "marketplace.png");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const { chromium } = createRequire(join(root, "adapter-wasm", "e2e", "package.json"))("playwright-core");

/// Starts the example against its embedded fake, in a fresh data directory, and reads what it
/// prints until the page's address.
async function startApp() {
  const dataDir = join(outDir, "data");
  await rm(dataDir, { recursive: true, force: true });
  await mkdir(dataDir, { recursive: true });
  const env = { ...process.env, MARKETPLACE_DATA_DIR: dataDir };
  // The offline defaults, whatever the calling shell holds.
  for (const name of Object.keys(env)) {
    if (name.startsWith("SQUARE_") || name === "DATABASE_URL" || name === "MARKETPLACE_LISTEN") delete env[name];
  }
  const postgres = process.env.MARKETPLACE_E2E_POSTGRES === "1";
  if (postgres) {
    const { PGHOST = "localhost", PGPORT = "5432", PGUSER = "postgres", PGPASSWORD = "", PGDATABASE = "postgres" } = process.env;
    const password = PGPASSWORD ? `:${encodeURIComponent(PGPASSWORD)}` : "";
    env.DATABASE_URL = `postgres://${encodeURIComponent(PGUSER)}${password}@${PGHOST}:${PGPORT}/${encodeURIComponent(PGDATABASE)}`;
  }
  const child = spawn(binary, [], { env, stdio: ["ignore", "pipe", "pipe"] });
  const output = [];
  const stderr = [];
  child.stderr.on("data", (chunk) => stderr.push(chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  const started = new Promise((resolveStart, rejectStart) => {
    const timer = setTimeout(() => rejectStart(new Error(`the example printed no address in 60 s:\n${output.join("\n")}\n${stderr.join("")}`)), 60_000);
    child.on("exit", (code) => rejectStart(new Error(`the example exited (${code}) before serving:\n${stderr.join("")}`)));
    lines.on("line", (line) => {
      output.push(line);
      console.log(`  app: ${line}`);
      const open = line.match(/^open (http:\/\/127\.0\.0\.1:\d+)\/$/);
      if (open) {
        clearTimeout(timer);
        resolveStart(open[1]);
      }
    });
  });
  const origin = await started;
  const fake = output.map((l) => l.match(/^square: embedded fake at (http:\/\/127\.0\.0\.1:\d+) /)).find(Boolean);
  assert.ok(fake, `the example names its fake Square:\n${output.join("\n")}`);
  const vault = output.find((l) => l.startsWith("vault: "));
  if (postgres) {
    assert.match(vault, /^vault: PostgreSQL at \S+ \(DATABASE_URL\)$/);
    assert.ok(!vault.includes(process.env.PGPASSWORD || "\0"), "the password is not printed");
  } else {
    assert.equal(vault, `vault: SQLite file ${join(dataDir, "marketplace.sqlite")}`);
  }
  assert.ok(output.some((l) => l.startsWith("refresher: running")), "the refresher runs beside the page");
  return { child, origin, square: fake[1], output, stderr };
}

/// Stops the example as Ctrl-C does, and waits for it: it must shut down cleanly.
async function stopApp(app) {
  if (app.child.exitCode !== null) return app.child.exitCode;
  const exited = new Promise((r) => app.child.on("exit", (code, signal) => r(code ?? signal)));
  app.child.kill("SIGINT");
  const timer = setTimeout(() => app.child.kill("SIGKILL"), 15_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

const steps = [];
const step = (name) => { steps.push(name); console.log(`  test: ${name}`); };

const app = await startApp();
const profile = await mkdtemp(join(tmpdir(), "marketplace-chromium-"));
let failed = false;
let context;
try {
  // A fresh profile directory, named explicitly (--user-data-dir): nothing from an earlier run.
  context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1100, height: 640 },
    // Root in a container needs --no-sandbox; the rest keeps Chromium off the (closed) network.
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  await run(context, app);
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  if (context) await context.close();
  await rm(profile, { recursive: true, force: true });
  const code = await stopApp(app);
  if (!failed && code !== 0) {
    failed = true;
    console.error(`the example did not stop cleanly on Ctrl-C (${code}):\n${app.stderr.join("")}`);
  }
  if (app.stderr.join("").includes("panicked")) {
    failed = true;
    console.error(`the example panicked:\n${app.stderr.join("")}`);
  }
}
if (!failed) console.log(`marketplace e2e: ok (${steps.length} steps)`);
process.exit(failed ? 1 : 0);

async function run(context, { origin, square }) {
  const page = context.pages()[0] ?? await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  // The refused callback below answers 400, which Chromium logs as a failed resource.
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) problems.push(message.text());
  });
  const callbacks = [];
  page.on("request", (request) => { if (request.url().startsWith(`${origin}/callback`)) callbacks.push(request.url()); });

  await page.goto(`${origin}/`);
  await page.locator("#no-sellers").waitFor();
  assert.equal(await page.locator("#connect").textContent(), "Connect with Square");
  step("the sellers page: no seller yet, a Connect with Square button");

  await page.click("#connect");
  await page.waitForURL((url) => url.href.startsWith(`${square}/oauth2/authorize`));
  const authorize = new URL(page.url());
  const clientId = authorize.searchParams.get("client_id");
  assert.match(clientId, /^sq0idp-/);
  assert.match(authorize.searchParams.get("state"), /^[A-Za-z0-9_-]{43}$/);
  assert.equal(authorize.searchParams.get("redirect_uri"), `${origin}/callback`);
  assert.equal(authorize.searchParams.get("scope"), "MERCHANT_PROFILE_READ PAYMENTS_READ");
  assert.equal(authorize.searchParams.get("code_challenge"), null, "the code flow: the server keeps the secret");
  assert.equal(await page.locator("#application").textContent(), clientId);
  step("Connect: on the fake's consent page, with a state and the registered redirect URL");

  // While the seller is on Square's page, another site sends this browser (its cookie and all)
  // to the callback with a state of its own: refused, and the cookie stays for the real return.
  for (const query of ["code=sq0cgb-forged&response_type=code&state=forged", "code=sq0cgb-forged", "state=a&state=b&code=x"]) {
    const forgedReturn = await context.request.get(`${origin}/callback?${query}`);
    assert.equal(forgedReturn.status(), 400, query);
    assert.match(await forgedReturn.text(), /state/i, query);
    assert.equal(forgedReturn.headers()["set-cookie"], undefined, `a forged return (${query}) must not clear the cookie`);
  }
  step("forged returns (a wrong state, none, two) while the seller is on Square's page: refused (400), the browser's state kept");

  await page.click("#allow");
  await page.waitForURL((url) => url.href.startsWith(`${origin}/?connected=`));
  const merchant = new URL(page.url()).searchParams.get("connected");
  assert.match(merchant, /^[A-Z0-9]{13}$/);
  const row = page.locator(`tr[data-merchant="${merchant}"]`);
  assert.equal(await row.getAttribute("data-health"), "fresh");
  assert.equal(await row.locator(".health").textContent(), "fresh");
  assert.equal(await page.locator("#connected code").textContent(), merchant);
  assert.equal(callbacks.length, 1);
  step(`Allow: state checked, code exchanged into the vault, seller ${merchant} listed as fresh`);

  // The same redirect again (a replay, or a second tab): the cookie that held state is gone.
  const replay = await page.goto(callbacks[0]);
  assert.equal(replay.status(), 400);
  assert.match(await page.locator("#error").textContent(), /did not start a connection/);
  // A redirect the browser never asked for (login CSRF): no cookie, refused before any exchange.
  const foreign = await fetch(`${origin}/callback?code=sq0cgb-forged&response_type=code&state=forged`);
  assert.equal(foreign.status, 400);
  const tokenCalls = (await (await fetch(`${square}/__mock/requests`)).json()).filter((r) => r.path === "/oauth2/token");
  assert.equal(tokenCalls.length, 1, "one code exchange: the replayed and the foreign callbacks sent none");
  assert.equal(JSON.parse(tokenCalls[0].body).grant_type, "authorization_code");
  step("a replayed callback and a callback this browser never started are refused (400), nothing exchanged");

  const event = JSON.stringify({ merchant_id: merchant, type: "oauth.authorization.revoked", event_id: "forged-1",
    created_at: new Date().toISOString(), data: { type: "revocation", id: "x", object: { revocation: { revoker_type: "MERCHANT" } } } });
  const forged = await fetch(`${origin}/webhooks/square`, { method: "POST", body: event,
    headers: { "content-type": "application/json", "x-square-hmacsha256-signature": Buffer.alloc(32).toString("base64") } });
  assert.equal(forged.status, 401);
  const unsigned = await fetch(`${origin}/webhooks/square`, { method: "POST", body: event, headers: { "content-type": "application/json" } });
  assert.equal(unsigned.status, 401);
  await page.goto(`${origin}/`);
  assert.equal(await row.getAttribute("data-health"), "fresh");
  step("a forged and an unsigned revocation webhook are refused (401); the seller stays fresh");

  const revoked = await fetch(`${square}/__mock/seller-revokes`, { method: "POST",
    headers: { "content-type": "application/json" }, body: JSON.stringify({ client_id: clientId, merchant_id: merchant }) });
  assert.equal(revoked.status, 200);
  const notice = await revoked.json();
  assert.deepEqual(notice.deliveries, [{ notification_url: `${origin}/webhooks/square`, status: 200 }]);
  step(`the seller removes the application at the fake: signed webhook delivered, answered 200 (event ${notice.event_id})`);

  await page.reload();
  assert.equal(await row.getAttribute("data-health"), "revoked");
  assert.equal(await row.locator(".health").textContent(), "revoked");
  assert.equal(await page.locator('#counts span[data-health="revoked"] b').textContent(), "1");
  step("the seller is listed as revoked");

  // Another seller connects, choosing the second business on the consent page: listed fresh,
  // beside the revoked one. Its return arrives twice at once (a reload while Square is slow to
  // answer): the code is exchanged once, the second request told so.
  await page.click("#connect");
  await page.waitForURL((url) => url.href.startsWith(`${square}/oauth2/authorize`));
  await page.selectOption("#merchant_id", { index: 1 });
  const second = await page.locator("#merchant_id").inputValue();
  assert.notEqual(second, merchant);
  // The consent form's answer is the redirect back: taken from it here (a route does not see
  // the redirect itself), and the browser left where it is.
  let returned;
  await page.route(`${square}/**`, async (route) => {
    if (route.request().method() !== "POST") return route.continue();
    const answer = await route.fetch({ maxRedirects: 0 });
    returned = answer.headers()["location"];
    await route.fulfill({ status: 204 });
  });
  await page.click("#allow");
  for (let waited = 0; !returned; waited += 50) {
    assert.ok(waited < 20000, "the consent page never sent the browser back");
    await new Promise((done) => setTimeout(done, 50));
  }
  await page.unroute(`${square}/**`);
  assert.ok(returned.startsWith(`${origin}/callback?`), returned);
  const slow = await fetch(`${square}/__mock/fault`, { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ path: "/oauth2/token", kind: "delay", millis: 1500 }) });
  assert.equal(slow.status, 200);
  const exchangesBefore = (await (await fetch(`${square}/__mock/requests`)).json()).filter((r) => r.path === "/oauth2/token").length;
  const twice = await Promise.all([0, 200].map(async (after) => {
    await new Promise((done) => setTimeout(done, after));
    return (await context.request.get(returned, { maxRedirects: 0 })).status();
  }));
  assert.deepEqual(twice, [303, 409]);
  const exchangesAfter = (await (await fetch(`${square}/__mock/requests`)).json()).filter((r) => r.path === "/oauth2/token").length;
  assert.equal(exchangesAfter - exchangesBefore, 1, "the code was exchanged once");
  await page.goto(`${origin}/?connected=${second}`);
  assert.equal(await page.locator(`tr[data-merchant="${second}"]`).getAttribute("data-health"), "fresh");
  assert.equal(await row.getAttribute("data-health"), "revoked");
  assert.equal(await page.locator("#sellers tbody tr").count(), 2);
  step(`a second seller ${second} connects, its return arriving twice at once: exchanged once (303, 409), fresh, beside the revoked one`);

  await mkdir(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  step(`screenshot saved to ${screenshot}`);

  // Every secret that crossed the wire to the fake: none may be on the page.
  const log = await (await fetch(`${square}/__mock/requests`)).json();
  const secrets = new Set();
  for (const request of log) {
    if (request.body.startsWith("{")) {
      const body = JSON.parse(request.body);
      for (const key of ["code", "client_secret", "refresh_token", "access_token"]) if (body[key]) secrets.add(body[key]);
    }
  }
  const exchanged = JSON.parse(tokenCalls[0].body);
  assert.ok(secrets.has(exchanged.client_secret) && secrets.has(exchanged.code), "the log holds the exchange's secrets");
  const html = await page.content();
  for (const secret of secrets) assert.ok(!html.includes(secret), "a secret is on the page");
  step(`no secret on the page (${secrets.size} checked)`);
  assert.deepEqual(problems, []);
}
