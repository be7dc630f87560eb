// The portal's money, books and operator pages in a real browser (Debian's Chromium),
// against a running `mcf up`, one step per run (the test moves business time between steps):
//   bank-details  a client adds a card on the bank's own page, another adds one that
//                 declines, a worker (on a phone) opens a payout account
//   invoices      the first client's invoice shows paid; the other's failed, with why and
//                 what to do
//   books         a manager adds a hypothesis and changes its tags, draws a seeded sample,
//                 gives an award (a bad amount refused next to its field first), reads
//                 the statements and the week's summary
//   bet           the manager opens a bet on the running order and stakes on "failed"
//   failed-order  the manager reviews the failed order from the quality queue and closes
//                 the bet
//   dead-letter   an admin replays a dead letter, and it is applied
// Screenshots of the pages go to SHOTS (desktop 1280 and phone 360 wide).
// Usage: node portal-pages.mjs CONFIG_JSON STEP (see bin/mcf/tests/it/portal_pages.rs)
import { readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import * as common from "./common.mjs";
import { desktop, phone, eventually } from "./common.mjs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const step = process.argv[3];
const { base, shots } = config;
mkdirSync(shots, { recursive: true });

const browser = await common.launch();

const pages = [];

/** A signed-in page in a fresh browser context (its own cookies: one person). */
async function signedIn(kind, who) {
  const page = await common.person(browser, kind);
  pages.push(page);
  await common.signIn(page, base, who.email, who.password);
  return page;
}

/** Follows the menu's entry `name`. */
async function menu(page, name) {
  await page.getByRole("navigation").getByRole("link", { name, exact: true }).click();
  await page.getByRole("heading", { name, level: 1 }).waitFor();
}

const shot = (page, name) => common.shot(page, shots, name);

/** From the money page to the bank's page with `link`, `tick` ticked, `button` pressed,
 * and back to the money page with the detail saved. */
async function atTheBank(page, link, button, tick) {
  await page.goto(`${base}/money`);
  await page.getByRole("link", { name: link }).click();
  await page.waitForURL((url) => url.pathname.startsWith("/hosted/"));
  if (tick) await page.getByLabel(tick).check();
  return async (name) => {
    if (name) await shot(page, name);
    await page.getByRole("button", { name: button }).click();
    await page.waitForURL((url) => url.href.startsWith(`${base}/money`));
    await page.getByText("Saved: Billing uses them").waitFor();
  };
}

const steps = {
  async "bank-details"() {
    const kim = await signedIn(desktop, config.kim);
    await kim.goto(`${base}/money`);
    await kim.getByText("No card yet").waitFor();
    await shot(kim, "money-no-card-desktop");
    const addKims = await atTheBank(kim, "Add a card at the Gold Hat bank", "Add the card");
    await kim.getByLabel("Name on the card").waitFor();
    await addKims("bank-card-desktop");
    await kim.locator("code", { hasText: /^pm_/ }).waitFor();
    await shot(kim, "money-card-saved-desktop");
    // A return link made for another session (a forged one) is refused and changes nothing.
    const forged = await kim.request.get(`${base}/money/bank?payment_method=pm_forged&state=0123`, { maxRedirects: 0 });
    if (forged.status() !== 403) throw new Error(`a forged return answered ${forged.status()}`);
    await kim.goto(`${base}/money`);
    if (await kim.getByText("pm_forged").count() !== 0) throw new Error("the forged card was kept");

    const ann = await signedIn(desktop, config.ann);
    const addAnns = await atTheBank(ann, "Add a card at the Gold Hat bank", "Add the card", /declines every collection/);
    await addAnns();

    const tom = await signedIn(phone, config.tom);
    await tom.goto(`${base}/money`);
    await tom.getByText("No account yet").waitFor();
    // Cancelling at the bank comes back with nothing changed.
    await tom.getByRole("link", { name: "Open an account at the Gold Hat bank" }).click();
    await tom.waitForURL((url) => url.pathname.startsWith("/hosted/"));
    await tom.getByRole("link", { name: "Cancel" }).click();
    await tom.waitForURL(`${base}/money`);
    await tom.getByText("No account yet").waitFor();
    const openToms = await atTheBank(tom, "Open an account at the Gold Hat bank", "Open the account");
    await openToms("bank-account-phone");
    await tom.locator("code", { hasText: /^GH/ }).waitFor();
    await shot(tom, "money-account-saved-phone");
  },

  async invoices() {
    const kim = await signedIn(desktop, config.kim);
    await kim.goto(`${base}/money`);
    await eventually(kim, kim.locator(".badge.paid"), "Kim's invoice paid");
    await kim.getByText("paid", { exact: true }).first().waitFor();
    await shot(kim, "money-paid-desktop");

    const ann = await signedIn(desktop, config.ann);
    await ann.goto(`${base}/money`);
    await eventually(ann, ann.locator(".badge.failed"), "Ann's invoice failed");
    await ann.getByText(/declined/).first().waitFor();
    await ann.getByText(/Add another card above/).first().waitFor();
    await ann.getByText(/Next attempt:/).first().waitFor();
    await shot(ann, "money-failed-desktop");
    // In Russian too.
    await ann.getByRole("link", { name: "Русский" }).click();
    await ann.getByText(/Добавьте другую карту/).first().waitFor();
    await ann.getByText("не прошёл").first().waitFor();
  },

  async books() {
    const boss = await signedIn(desktop, config.boss);
    // The register: a hypothesis added, its tags changed, the list by tag.
    await menu(boss, "Hypotheses");
    await boss.getByLabel("Hypothesis").fill("Kits issued late make workers late.");
    await boss.getByLabel("Tags, separated by commas").fill("kits, late");
    await boss.getByRole("button", { name: "Add a hypothesis" }).click();
    await boss.waitForURL(/\/hypotheses\/[0-9a-f-]{36}$/);
    await boss.getByLabel("Tags, separated by commas").fill("Kits, supply");
    await boss.getByRole("button", { name: "Save" }).click();
    await boss.locator("a.badge", { hasText: "supply" }).waitFor();
    await boss.locator("a.badge", { hasText: "supply" }).click();
    await boss.getByRole("link", { name: "Kits issued late make workers late." }).waitFor();
    await shot(boss, "hypotheses-desktop");

    // A sample with a seed, so it can be drawn again.
    await menu(boss, "Samples");
    await boss.getByLabel("How many orders").fill("1");
    await boss.getByLabel("Seed (optional)").fill("42");
    await boss.getByRole("button", { name: "Draw a sample" }).click();
    await boss.locator("td code", { hasText: /^42$/ }).waitFor();
    await shot(boss, "samples-desktop");

    // An award: a bad amount is refused next to its field, then given.
    await menu(boss, "Awards");
    await boss.getByLabel("Worker").selectOption({ label: "tom" });
    await boss.getByLabel("Amount").fill("a lot");
    await boss.getByLabel("Why (one line)").fill("Spotless kitchen");
    await boss.getByRole("button", { name: "Give an award" }).click();
    await boss.locator("#amount-error").getByText("Give an amount such as 120").waitFor();
    if (await boss.getByLabel("Amount").getAttribute("aria-invalid") !== "true") {
      throw new Error("the refused amount is not marked invalid");
    }
    await boss.getByLabel("Amount").fill("12.50");
    await boss.getByRole("button", { name: "Give an award" }).click();
    await boss.getByRole("cell", { name: "Spotless kitchen" }).waitFor();
    await boss.getByRole("cell", { name: "12.50" }).waitFor();
    await shot(boss, "awards-desktop");

    // Statements: every account, then the worker's.
    await menu(boss, "Statements");
    await boss.getByText("Sum of all balances").waitFor();
    await shot(boss, "statements-desktop");
    await boss.getByRole("link", { name: "tom", exact: true }).click();
    await boss.getByRole("cell", { name: "award: Spotless kitchen" }).waitFor();
    await shot(boss, "statement-desktop");

    // The week's summary: the client's charge is revenue, the award a cost.
    await menu(boss, "Summary");
    await boss.getByLabel("Period").selectOption("week");
    await boss.getByRole("button", { name: "Show" }).click();
    await boss.getByText("Margin = revenue").waitFor();
    await boss.locator("dd", { hasText: "12.50" }).first().waitFor();
    await shot(boss, "summary-desktop");

    // On a phone.
    const onPhone = await signedIn(phone, config.boss);
    await onPhone.goto(`${base}/awards`);
    await onPhone.getByRole("cell", { name: "Spotless kitchen" }).waitFor();
    await shot(onPhone, "awards-phone");
  },

  async bet() {
    const boss = await signedIn(desktop, config.boss);
    await menu(boss, "Bets");
    await boss.getByLabel("Order id").fill(config.order);
    await boss.getByRole("button", { name: "Open a bet" }).click();
    await boss.waitForURL(/\/bets\/[0-9a-f-]{36}$/);
    await boss.getByLabel("Outcome").selectOption("failed");
    await boss.getByLabel("Amount").fill("5");
    await boss.getByRole("button", { name: "Stake" }).click();
    await boss.locator("li", { hasText: "5.00" }).waitFor();
  },

  async "failed-order"() {
    const boss = await signedIn(desktop, config.boss);
    await boss.goto(`${base}/quality`);
    const row = boss.locator("tr", { hasText: "failed" });
    await eventually(boss, row, "the failed order in the queue");
    await row.getByRole("link").first().click();
    await boss.getByLabel("What happened").fill("Nobody came; the kit was issued on time.");
    await boss.getByLabel("Verdict").selectOption("worker_at_fault");
    await boss.getByRole("button", { name: "Save" }).click();
    await boss.locator("p.ok").getByText("Reviewed").waitFor();
    await shot(boss, "quality-failed-reviewed-desktop");
    await menu(boss, "Bets");
    await boss.getByRole("link", { name: config.order }).click();
    await boss.getByRole("button", { name: "Close the bet" }).click();
    await boss.locator(".badge.settling, .badge.settled").first().waitFor();
  },

  async "dead-letter"() {
    const admin = await signedIn(desktop, config.admin);
    await admin.goto(`${base}/admin/dead-letters`);
    const row = admin.locator("tr", { hasText: "iam.account.created" });
    await row.waitFor();
    await row.getByText("database is locked").waitFor();
    await shot(admin, "dead-letter-desktop");
    await row.getByRole("button", { name: "Replay" }).click();
    await admin.getByText("No dead letters.").waitFor();
    await admin.goto(`${base}/admin/dead-letters?all=true`);
    await admin.locator("tr", { hasText: "iam.account.created" }).locator(".badge.completed").waitFor();
    await shot(admin, "dead-letter-replayed-desktop");
    // Applied: the new client's account is in the books.
    await admin.goto(`${base}/statements`);
    await admin.getByRole("link", { name: "Ghost Cat" }).waitFor();
  },
};

try {
  if (!steps[step]) throw new Error(`no step ${step}`);
  await steps[step]();
  console.log("ok");
} catch (e) {
  for (const [i, page] of pages.entries()) {
    await page.screenshot({ path: join(shots, `failure-${step}-${i}.png`), fullPage: true }).catch(() => {});
    console.error(`page ${i}: ${page.url()}`);
  }
  throw e;
} finally {
  await browser.close();
}
