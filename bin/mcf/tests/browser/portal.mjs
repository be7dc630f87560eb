// Every role's main job in the portal, in a real browser (Debian's Chromium), against a
// running `mcf up`: a candidate applies and takes the mailed tests, a manager assigns them
// and accepts, the new worker sets a password from the mail; a client orders, the supply
// employee issues the kit, the worker checks in with a photo on a phone and finishes; the
// client sees it completed (in Russian too); an admin lists the dead letters.
// Screenshots of the main pages go to SHOTS (desktop 1280 and phone 360 wide).
// Usage: node portal.mjs CONFIG_JSON (see bin/mcf/tests/it/browser.rs)
import { readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import * as common from "./common.mjs";
import { desktop, phone, eventually, inMinutes } from "./common.mjs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { base, mailDir, shots, photo } = config;
mkdirSync(shots, { recursive: true });

const browser = await common.launch();
const person = (kind) => common.person(browser, kind);
const shot = (page, name) => common.shot(page, shots, name);
const signIn = (page, email, password) => common.signIn(page, base, email, password);
const mailedLink = (needle, path) => common.mailedLink(mailDir, needle, path);

const pages = [];
try {
  // A candidate applies, with a photo.
  const candidate = await person(desktop);
  pages.push(candidate);
  await candidate.goto(`${base}/apply`);
  await candidate.getByLabel("Name").fill(config.candidate.name);
  await candidate.getByLabel("E-mail").fill(config.candidate.email);
  await candidate.getByLabel("Age (years)").fill("4");
  await candidate.getByLabel("Breed").fill("Maine Coon");
  await candidate.getByLabel("Coat colour").fill("ginger");
  await candidate.getByLabel(/Your photo/).setInputFiles(photo);
  await shot(candidate, "apply-desktop");
  await candidate.getByRole("button", { name: "Send" }).click();
  await candidate.getByText("We received your application").waitFor();

  // The manager finds the application and assigns the test.
  const manager = await person(desktop);
  pages.push(manager);
  await signIn(manager, config.manager.email, config.manager.password);
  await manager.goto(`${base}/hiring?status=open`);
  await shot(manager, "hiring-desktop");
  await manager.getByRole("link", { name: config.candidate.name }).click();
  await manager.getByLabel(new RegExp(config.testName)).check();
  await manager.getByRole("button", { name: "Assign tests" }).click();
  await manager.getByRole("cell", { name: config.testName }).waitFor();
  await shot(manager, "application-desktop");

  // The candidate opens the mailed link (the portal's page) and takes the test.
  const take = await mailedLink("your tests are ready", "/take?token=");
  if (!take.startsWith(base)) throw new Error(`the test link is not the portal's: ${take}`);
  await candidate.goto(take);
  for (const group of await candidate.locator("fieldset").all()) {
    await group.locator('input[type="radio"][value="1"]').check();
  }
  await shot(candidate, "take-desktop");
  await candidate.getByRole("button", { name: "Send" }).click();
  await candidate.getByText("Your answers are recorded").waitFor();

  // The manager accepts: the candidate becomes a worker and is mailed an invite.
  await manager.reload();
  await manager.getByRole("button", { name: "Accept" }).click();
  await manager.locator(".badge.accepted").waitFor();

  // The new worker sets a password from the invite, on a phone.
  const worker = await person(phone);
  pages.push(worker);
  const invite = await mailedLink(config.candidate.email, "/password?token=");
  await worker.goto(invite);
  await worker.getByLabel(/New password/).fill(config.workerPassword);
  await worker.getByRole("button", { name: "Set password" }).click();
  await worker.getByText("Your password is set").waitFor();

  // A client requests help.
  const client = await person(desktop);
  pages.push(client);
  await signIn(client, config.client.email, config.client.password);
  await client.goto(`${base}/orders/new`);
  await client.getByLabel("Service").selectOption({ index: 1 });
  await client.getByLabel(/Date and time/).fill(inMinutes(20));
  await client.getByLabel("Description").fill("The dishes, and the litter box behind the sofa.");
  await shot(client, "order-new-desktop");
  await client.getByRole("button", { name: "Request help" }).click();
  await client.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
  const orderUrl = client.url();
  await eventually(client, client.locator(".badge.active"), "the order active");
  await shot(client, "order-desktop");

  // The manager opens a bet on the running order and stakes on "completed".
  const orderId = orderUrl.split("/").pop();
  await manager.goto(`${base}/bets`);
  await manager.getByLabel("Order id").fill(orderId);
  await manager.getByRole("button", { name: "Open a bet" }).click();
  await manager.waitForURL(/\/bets\/[0-9a-f-]{36}$/);
  const betUrl = manager.url();
  await manager.getByLabel("Outcome").selectOption("completed");
  await manager.getByLabel("Amount").fill("5");
  await manager.getByRole("button", { name: "Stake" }).click();
  await manager.locator("li", { hasText: "5.00" }).waitFor();

  // The supply employee issues the kit once its fortune cookie arrived.
  const supply = await person(desktop);
  pages.push(supply);
  await signIn(supply, config.supply.email, config.supply.password);
  await supply.goto(`${base}/kits`);
  await shot(supply, "kits-desktop");
  await eventually(supply, supply.getByRole("link", { name: config.serviceName }), "the kit");
  await supply.getByRole("link", { name: config.serviceName }).first().click();
  await eventually(supply, supply.getByRole("button", { name: "Issued" }), "the Issued button");
  await shot(supply, "kit-desktop");
  await supply.getByRole("button", { name: "Issued" }).click();
  await supply.locator(".badge.issued").waitFor();

  // The worker checks in with a photo from the phone, then finishes with the signed form.
  await signIn(worker, config.candidate.email, config.workerPassword);
  await worker.goto(`${base}/jobs`);
  await eventually(worker, worker.getByRole("link", { name: config.serviceName }), "the job");
  await shot(worker, "jobs-phone");
  await worker.getByRole("link", { name: config.serviceName }).first().click();
  await eventually(worker, worker.getByText("Supply kit issued").locator("xpath=following-sibling::dd[1][contains(., '✓')]"), "the kit issued");
  await shot(worker, "job-phone");
  // The worker prints the job acceptance form (Inventory's PDF, fetched with their token).
  const formLink = await worker.getByRole("link", { name: "Job acceptance form (PDF)" }).getAttribute("href");
  const pdf = await worker.request.get(`${base}${formLink}`);
  if (pdf.status() !== 200 || pdf.headers()["content-type"] !== "application/pdf") {
    throw new Error(`the job form answered ${pdf.status()} ${pdf.headers()["content-type"]}`);
  }
  await worker.getByLabel("Photo on site").setInputFiles(photo);
  await worker.getByRole("button", { name: "Check in" }).click();
  await worker.locator(".badge.in_progress").waitFor();
  await worker.getByLabel("Photo of the signed form").setInputFiles(photo);
  await shot(worker, "job-in-progress-phone");
  await worker.getByRole("button", { name: "Finish the job" }).click();
  await worker.locator(".badge.completed").waitFor();

  // The manager closes the bet: the order was completed, the stake wins.
  await manager.goto(betUrl);
  await manager.getByRole("button", { name: "Close the bet" }).click();
  await manager.locator(".badge.settling, .badge.settled").first().waitFor();
  await shot(manager, "bet-desktop");

  // The client sees it completed, with its history; and in Russian.
  await client.goto(orderUrl);
  await client.locator(".badge.completed").waitFor();
  await shot(client, "order-completed-desktop");
  // The client's money: the charge for the order this week; the worker's: the earning.
  await client.goto(`${base}/money`);
  await eventually(client, client.getByText("client charge").first(), "the client's charge");
  await shot(client, "money-desktop");
  await worker.goto(`${base}/money`);
  await eventually(worker, worker.getByText("worker earning").first(), "the worker's earning");
  await shot(worker, "money-phone");

  // The client orders again and cancels; the manager finds the canceled order in the
  // quality queue and reviews it.
  await client.goto(`${base}/orders/new`);
  await client.getByLabel("Service").selectOption({ index: 1 });
  await client.getByLabel(/Date and time/).fill(inMinutes(180));
  await client.getByLabel("Description").fill("The windows, please.");
  await client.getByRole("button", { name: "Request help" }).click();
  await client.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
  await client.getByLabel("Reason").fill("Plans changed.");
  await client.getByRole("button", { name: "Cancel the order" }).click();
  await client.locator(".badge.canceled").waitFor();
  await manager.goto(`${base}/quality`);
  await eventually(manager, manager.getByRole("link", { name: config.serviceName }), "the canceled order in the queue");
  await shot(manager, "quality-queue-desktop");
  await manager.getByRole("link", { name: config.serviceName }).first().click();
  await manager.getByLabel("What happened").fill("The client canceled three hours before.");
  await manager.getByLabel("Verdict").selectOption("client_side");
  await shot(manager, "quality-review-desktop");
  await manager.getByRole("button", { name: "Save" }).click();
  await manager.locator("p.ok").getByText("Reviewed").waitFor();
  await client.goto(orderUrl);
  await client.getByRole("link", { name: "Русский" }).click();
  await client.getByText("Выполнен").first().waitFor();
  await client.goto(`${base}/orders`);
  await client.getByRole("heading", { name: "Мои заказы" }).waitFor();
  await shot(client, "orders-ru-desktop");
  const clientPhone = await person(phone);
  pages.push(clientPhone);
  await signIn(clientPhone, config.client.email, config.client.password);
  await clientPhone.goto(orderUrl);
  await shot(clientPhone, "order-phone");

  // An admin lists the dead letters (none in this walk) and the accounts.
  const admin = await person(desktop);
  pages.push(admin);
  await signIn(admin, config.admin.email, config.admin.password);
  await admin.goto(`${base}/admin/dead-letters`);
  await admin.getByText("No dead letters.").waitFor();
  await shot(admin, "dead-letters-desktop");
  await admin.goto(`${base}/admin/accounts`);
  await admin.getByText(config.candidate.email).waitFor();
  await shot(admin, "accounts-desktop");

  // A form posted without this session's CSRF token is refused, and changes nothing.
  const forged = await admin.request.post(`${base}/admin/keys`, { form: { csrf: "forged" }, maxRedirects: 0 });
  if (forged.status() !== 403) throw new Error(`a forged form answered ${forged.status()}`);

  // Signing out ends the session.
  await admin.getByRole("button", { name: "Sign out" }).click();
  await admin.getByRole("link", { name: "Sign in" }).first().waitFor();
  await admin.goto(`${base}/admin/accounts`);
  await admin.waitForURL((url) => url.pathname.endsWith("/authorize"));
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
