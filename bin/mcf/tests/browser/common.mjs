// What the browser walks share: the browser, the kinds of person, screenshots, mailed links
// and waiting for background work to show.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

/** Headless Chromium (Debian's, or `CHROMIUM`), quiet: no background traffic of its own. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

export const desktop = { viewport: { width: 1280, height: 900 }, locale: "en-GB" };
export const russian = { viewport: { width: 1280, height: 900 }, locale: "ru-RU" };
export const phone = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, locale: "en-GB" };

/** A page in a fresh browser context (its own cookies: one person). */
export async function person(browser, kind) {
  const context = await browser.newContext(kind);
  context.setDefaultTimeout(20000);
  return context.newPage();
}

/** A full-page screenshot as `dir/name.png`. */
export async function shot(page, dir, name) {
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/** Signs in through IAM's page, reached from the portal at `base`, and comes back. */
export async function signIn(page, base, email, password) {
  await page.goto(`${base}/sign-in`);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => url.href.startsWith(base) && !url.pathname.startsWith("/api/"));
  await page.getByText(/Signed in as|Вы вошли как/).waitFor();
}

/** The first link containing `path` in a mail in `mailDir` containing `needle` (polls the
 * .eml files). */
export async function mailedLink(mailDir, needle, path) {
  const until = Date.now() + 60000;
  while (Date.now() < until) {
    let files = [];
    try {
      files = readdirSync(mailDir, { withFileTypes: true }).filter((f) => f.isFile()).map((f) => f.name);
    } catch { /* not yet */ }
    for (const file of files) {
      // Undo quoted-printable: soft line breaks and the encoded '='.
      const eml = readFileSync(join(mailDir, file), "utf8").replaceAll("=\r\n", "").replaceAll("=3D", "=");
      if (!eml.includes(needle)) continue;
      const link = eml.split(/[\s"<>]/).find((w) => w.startsWith("http") && w.includes(path));
      if (link) return link;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no mail with ${needle} and ${path}`);
}

/** Reloads `page` until `locator` shows (background work: matching, cookies, events, the
 * bank, cycles). */
export async function eventually(page, locator, what) {
  const until = Date.now() + 60000;
  while (Date.now() < until) {
    if (await locator.count() > 0 && await locator.first().isVisible()) return;
    await new Promise((r) => setTimeout(r, 500));
    await page.reload();
  }
  throw new Error(`never saw ${what} on ${page.url()}`);
}

/** `minutes` from now as a datetime-local value, UTC (the form's label says UTC). */
export function inMinutes(minutes) {
  return new Date(Date.now() + minutes * 60000).toISOString().slice(0, 16);
}
