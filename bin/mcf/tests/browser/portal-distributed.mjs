// The portal distributed: `mcf serve portal` in front of `mcf serve <service>` processes,
// walked in a real browser (Debian's Chromium). A client whose browser reads Russian signs
// in through IAM's public URL, orders in the Russian portal and sees the order active; the
// supply employee opens the kit from the mailed link (a portal page) and issues it; the
// worker checks in with a photo on a phone.
// Usage: node portal-distributed.mjs CONFIG_JSON (see bin/mcf/tests/it/browser.rs)
import { readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import * as common from "./common.mjs";
import { desktop, russian, phone, eventually, inMinutes } from "./common.mjs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { base, mailDir, shots, photo } = config;
mkdirSync(shots, { recursive: true });

const browser = await common.launch();

const person = (kind) => common.person(browser, kind);
const mailedLink = (needle, path) => common.mailedLink(mailDir, needle, path);

/** Signs in through IAM's page (IAM's own URL, not the portal's) and comes back. IAM's page
 * speaks the portal's language (`ui_locales`): `lang` is the one it must be in. */
async function signIn(page, email, password, lang = "en") {
  await page.goto(`${base}/sign-in`);
  await page.waitForURL((url) => !url.href.startsWith(base));
  const htmlLang = await page.locator("html").getAttribute("lang");
  if (htmlLang !== lang) throw new Error(`IAM's sign-in page is in ${htmlLang}, not ${lang}`);
  const ru = lang === "ru";
  await page.getByLabel(ru ? "Эл. почта" : "E-mail").fill(email);
  await page.getByLabel(ru ? "Пароль" : "Password").fill(password);
  await page.getByRole("button", { name: ru ? "Войти" : "Sign in" }).click();
  await page.waitForURL((url) => url.href.startsWith(base));
  await page.getByText(/Signed in as|Вы вошли как/).waitFor();
}

const pages = [];
try {
  // A client whose browser reads Russian signs in on IAM's Russian page and requests help,
  // in Russian.
  const client = await person(russian);
  pages.push(client);
  await signIn(client, config.client.email, config.client.password, "ru");
  await client.goto(`${base}/orders/new`);
  await client.getByLabel("Услуга").selectOption({ index: 1 });
  await client.getByLabel(/Дата и время/).fill(inMinutes(20));
  await client.getByLabel("Описание").fill("Посуда и лоток за диваном.");
  await client.getByRole("button", { name: "Заказать помощь" }).click();
  await client.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
  await eventually(client, client.locator(".badge.active"), "the order active");
  await client.screenshot({ path: join(shots, "distributed-order-ru.png"), fullPage: true });

  // The supply employee opens the kit from the mailed link: the portal's page.
  const supply = await person(desktop);
  pages.push(supply);
  await signIn(supply, config.supply.email, config.supply.password);
  const kit = await mailedLink("Kit to assemble", "/kits/");
  if (!kit.startsWith(`${base}/kits/`)) throw new Error(`the kit link is not the portal's: ${kit}`);
  await supply.goto(kit);
  await eventually(supply, supply.getByRole("button", { name: "Issued" }), "the Issued button");
  await supply.getByRole("button", { name: "Issued" }).click();
  await supply.locator(".badge.issued").waitFor();

  // The worker checks in with a photo from the phone.
  const worker = await person(phone);
  pages.push(worker);
  await signIn(worker, config.worker.email, config.worker.password);
  await worker.goto(`${base}/jobs`);
  await eventually(worker, worker.getByRole("link", { name: config.serviceName }), "the job");
  await worker.getByRole("link", { name: config.serviceName }).first().click();
  await eventually(worker, worker.getByText("Supply kit issued").locator("xpath=following-sibling::dd[1][contains(., '✓')]"), "the kit issued");
  await worker.getByLabel("Photo on site").setInputFiles(photo);
  await worker.getByRole("button", { name: "Check in" }).click();
  await worker.locator(".badge.in_progress").waitFor();
  await worker.screenshot({ path: join(shots, "distributed-job-phone.png"), fullPage: true });

  // The client sees the job under way.
  await eventually(client, client.locator(".badge.in_progress"), "the order in progress");
  console.log("ok");
} catch (e) {
  for (const [i, page] of pages.entries()) {
    await page.screenshot({ path: join(shots, `failure-${i}.png`), fullPage: true }).catch(() => {});
    console.error(`page ${i}: ${page.url()}`);
  }
  throw e;
} finally {
  await browser.close();
}
