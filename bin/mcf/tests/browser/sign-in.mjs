// A person in a browser: opens MCF's sign-in page, types e-mail and password, submits.
// Prints the URL the browser is sent back to (the web app's redirect URI, with the code).
// Usage: node sign-in.mjs AUTHORIZE_URL EMAIL PASSWORD SCREENSHOT_PATH
import { launch } from "./common.mjs";

const [authorizeUrl, email, password, screenshot] = process.argv.slice(2);
const redirectPrefix = new URL(authorizeUrl).searchParams.get("redirect_uri");

const browser = await launch();
try {
  const page = await browser.newPage();
  // The web app is not running: it is enough to see the browser set off for its redirect
  // URI (the request after IAM's 303), whatever happens to it then.
  const arrival = page.waitForRequest((r) => r.url().startsWith(redirectPrefix), { timeout: 15000 });
  await page.goto(authorizeUrl);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  if (screenshot) await page.screenshot({ path: screenshot });
  await page.getByRole("button", { name: "Sign in" }).click({ noWaitAfter: true });
  const landed = (await arrival).url();
  console.log(landed);
} finally {
  await browser.close();
}
