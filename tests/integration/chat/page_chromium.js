// The chat page in headless Chromium (Debian `chromium`, driven by npm `playwright-core`):
// two pages load "/", show the instance that served them, join the same room, and a message
// typed in one appears in the other (and typing shows up there first). Fails when chromium or
// playwright-core is missing: scripts/install-deps installs both.
"use strict";
const assert = require("assert");
const fs = require("fs");
const { startServer, stopServer, main } = require("./lib");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
let chromium;
try {
  ({ chromium } = require("playwright-core"));
} catch (e) {
  chromium = null;
}
if (!chromium || !fs.existsSync(CHROMIUM)) {
  console.error("FAIL: chromium or playwright-core missing (run scripts/install-deps)");
  process.exit(1);
}

main(async (track) => {
  const server = track(await startServer(["--id", "s-web", "--drain", "0"]));
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  try {
    const open = async (name) => {
      const page = await browser.newPage();
      page.setDefaultTimeout(10000);
      await page.goto(server.url + "/");
      assert.strictEqual(await page.textContent("#instance"), "Instance s-web");
      await page.fill("#name", name);
      await page.fill("#room", "web");
      await page.click("#join");
      await page.waitForSelector("#status:text('joined')");
      assert.strictEqual(await page.textContent("#socket-server"), "s-web");
      return page;
    };
    const alice = await open("alice");
    const bob = await open("bob");
    await alice.type("#text", "hello");
    await bob.waitForSelector("#typing:has-text('alice is typing')");
    await alice.click("#send");
    const line = await bob.waitForSelector("#log .line:has-text('hello')");
    const text = await line.textContent();
    assert.match(text, /\[web\] alice via s-web: hello/);
    // The sender sees its own message too (broadcasts include the sender).
    await alice.waitForSelector("#log .line:has-text('alice via s-web: hello')");
    // The page escapes what people type.
    await bob.fill("#text", "<b>bold</b>");
    await bob.click("#send");
    const raw = await alice.waitForSelector("#log .line:has-text('<b>bold</b>')");
    assert.strictEqual(await raw.$("b"), null, "message text is not interpreted as HTML");
    // "Who's here" lists both people with their instance.
    await bob.click("#who");
    const who = await bob.waitForSelector("#log .line:has-text('in web:')");
    assert.match(await who.textContent(), /in web: (alice@s-web, bob@s-web|bob@s-web, alice@s-web)/);
  } finally {
    await browser.close();
  }
  assert.strictEqual((await stopServer(server)).code, 0);
}, 90000);
