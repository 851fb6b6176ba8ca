// Signing in to and creating a DfE Identity account (DESIGN §7.3, seed 002), from the sample NPQ service (which
// offers accounts beside GOV.UK One Login), JavaScript on and off, with axe on every page. The security codes are
// read from the development mailbox, as a person would read their email and texts.
import { test, expect, type Page, type Browser } from "@playwright/test";
import { expectErrors, expectNoAxeViolations, newPage, staffSignIn, uniqueName } from "./helpers";

// Several services and pages per journey, and without JavaScript each axe check replays the page.
test.describe.configure({ timeout: 120_000 });

const NPQ = "Register for an NPQ (sample)";

function sample(path: "npq"): string {
  const port = Number(process.env.E2E_PORT ?? 3100) + (test.info().project.name === "js" ? 3 : 4);
  return `http://127.0.0.1:${port}/${path}/`;
}

/** A page signed in to the console, to read the development mailbox. */
async function mailbox(browser: Browser, baseURL: string): Promise<Page> {
  const page = await newPage(browser, baseURL);
  await staffSignIn(page, "admin");
  return page;
}

/** The newest security code sent to `to` (an email address, or a mobile in E.164), from the mailbox. */
async function codeFor(mail: Page, testId: "email" | "text-message", to: string): Promise<string> {
  await mail.goto("/dev/mailbox");
  const card = mail.getByTestId(testId).filter({ hasText: to }).first();
  await expect(card).toBeVisible();
  const code = (await card.innerText()).match(/\b(\d{6})\b/);
  expect(code).not.toBeNull();
  return code![1];
}

async function expectHeading(page: Page, text: string) {
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(text);
}

/** From the sample NPQ's start to the choice of One Login or an account. */
async function startAtNpq(page: Page) {
  await page.goto(sample("npq"));
  await page.getByRole("link", { name: "Start now" }).click();
  await expectHeading(page, "How do you want to sign in?");
  await expect(page.getByRole("button", { name: "Continue with GOV.UK One Login" })).toBeVisible();
}

async function enterCode(page: Page, code: string) {
  await page.getByLabel("Security code").fill(code);
  await page.getByRole("button", { name: "Continue" }).click();
}

test("a teacher creates a DfE Identity account from a service, then signs in to it again in a new browser", async ({
  page,
  browser,
  baseURL,
}) => {
  const mail = await mailbox(browser, baseURL!);
  const last = uniqueName();
  const email = `${last.toLowerCase()}@example.com`;
  // A mobile of its own in each run (07400 numbers are allocated to mobiles).
  const digits = String(Date.now() % 1_000_000).padStart(6, "0");
  const e164 = `+447400${digits}`;

  await startAtNpq(page);
  await expectNoAxeViolations(page);
  await page.getByRole("button", { name: "Create a DfE Identity account" }).click();
  await expectHeading(page, "What is your email address?");
  await expectNoAxeViolations(page);
  await page.getByLabel("Email address").fill(email);
  await page.getByRole("button", { name: "Continue" }).click();

  await expectHeading(page, "Check your email");
  await expect(page.locator("main")).toContainText(email);
  await expectNoAxeViolations(page);
  // A wrong code first: the GOV.UK error, and the code typed is kept.
  await enterCode(page, "000000" === (await codeFor(mail, "email", email)) ? "111111" : "000000");
  await expectErrors(page, ["Enter a correct security code"]);
  await enterCode(page, await codeFor(mail, "email", email));

  await expectHeading(page, "What is your mobile number?");
  await expectNoAxeViolations(page);
  await page.getByLabel("Mobile number").fill("020 7946 0018");
  await page.getByRole("button", { name: "Continue", exact: true }).click();
  await expectErrors(page, ["Enter a mobile number that can receive text messages, not a landline"]);
  await expect(page.getByLabel("Mobile number")).toHaveValue("020 7946 0018");
  await page.getByLabel("Mobile number").fill(`07400 ${digits}`);
  await page.getByRole("button", { name: "Continue", exact: true }).click();
  await expectHeading(page, "Check your phone");
  await expectNoAxeViolations(page);
  await enterCode(page, await codeFor(mail, "text-message", e164));

  await expectHeading(page, "What is your name?");
  await expectNoAxeViolations(page);
  await page.getByLabel("First name").fill("Robin");
  await page.getByLabel("Last name").fill(last);
  await page.getByRole("button", { name: "Continue" }).click();

  await expectHeading(page, "What is your date of birth?");
  await page.getByLabel("Day").fill("31");
  await page.getByLabel("Month").fill("2");
  await page.getByLabel("Year").fill("1990");
  await page.getByRole("button", { name: "Continue" }).click();
  await expectErrors(page, ["Date of birth must be a real date"]);
  await expect(page.getByLabel("Year")).toHaveValue("1990");
  await expectNoAxeViolations(page);
  await page.getByLabel("Day").fill("28");
  await page.getByRole("button", { name: "Continue" }).click();

  await expectHeading(page, "Your DfE Identity account has been created");
  await expectNoAxeViolations(page);
  // NPQ asks for the teaching record, which an account has to be matched to first (issue 13 §3).
  await page.getByRole("button", { name: `Continue to ${NPQ}` }).click();
  await expectHeading(page, "We need to find your teaching record");
  await expectNoAxeViolations(page);
  await page.context().close();

  // Another day, another browser: the email and a new code sign them in to the same account.
  const again = await newPage(browser, baseURL!);
  await startAtNpq(again);
  await again.getByRole("button", { name: "Sign in with a DfE Identity account" }).click();
  await again.getByLabel("Email address").fill(email.toUpperCase());
  await again.getByRole("button", { name: "Continue" }).click();
  await expectHeading(again, "Check your email");
  await enterCode(again, await codeFor(mail, "email", email.toUpperCase()));
  await expectHeading(again, "We need to find your teaching record");
  await again.goto("/account");
  await expectHeading(again, "Your DfE Identity account");
  await expectNoAxeViolations(again);
  await again.context().close();
  await mail.context().close();
});

// The sample NPQ lets teachers create an account without a mobile number (issue 13 §2; `scripts/sample-clients`):
// the mobile page offers the skip as a second button of its form, which needs no JavaScript.
test("a teacher creates an account without a mobile number where the service allows it", async ({ page, browser, baseURL }) => {
  const mail = await mailbox(browser, baseURL!);
  const last = uniqueName();
  const email = `${last.toLowerCase()}.nomobile@example.com`;

  await startAtNpq(page);
  await page.getByRole("button", { name: "Create a DfE Identity account" }).click();
  await page.getByLabel("Email address").fill(email);
  await page.getByRole("button", { name: "Continue", exact: true }).click();
  await enterCode(page, await codeFor(mail, "email", email));

  await expectHeading(page, "What is your mobile number?");
  const skip = page.getByRole("button", { name: "Continue without a mobile number" });
  await expect(skip).toBeVisible();
  await expectNoAxeViolations(page);
  await skip.click();

  await expectHeading(page, "What is your name?");
  await page.getByLabel("First name").fill("Noa");
  await page.getByLabel("Last name").fill(last);
  await page.getByRole("button", { name: "Continue", exact: true }).click();
  await expectHeading(page, "What is your date of birth?");
  await page.getByLabel("Day").fill("9");
  await page.getByLabel("Month").fill("11");
  await page.getByLabel("Year").fill("1988");
  await page.getByRole("button", { name: "Continue", exact: true }).click();
  await expectHeading(page, "Your DfE Identity account has been created");

  // The account page says no mobile was given.
  await page.goto("/account");
  await expectHeading(page, "Your DfE Identity account");
  await expect(page.locator("main")).toContainText("Not given");
  await expectNoAxeViolations(page);
  await mail.context().close();
});

test("creating an account with an email that already has one signs in to it, and a bad email keeps what was typed", async ({
  page,
  browser,
  baseURL,
}) => {
  const mail = await mailbox(browser, baseURL!);
  const last = uniqueName();
  const email = `${last.toLowerCase()}+npq@example.com`;
  const digits = String((Date.now() + 500_000) % 1_000_000).padStart(6, "0");

  // First, the account.
  await startAtNpq(page);
  await page.getByRole("button", { name: "Create a DfE Identity account" }).click();
  await page.getByLabel("Email address").fill(`${last}@@example.com`);
  await page.getByRole("button", { name: "Continue" }).click();
  await expectErrors(page, ["Enter an email address in the correct format, like name@example.com"]);
  await expect(page.getByLabel("Email address")).toHaveValue(`${last}@@example.com`);
  await expectNoAxeViolations(page);
  await page.getByLabel("Email address").fill(email);
  await page.getByRole("button", { name: "Continue" }).click();
  await enterCode(page, await codeFor(mail, "email", email));
  await page.getByLabel("Mobile number").fill(`+44 7400 ${digits}`);
  await page.getByRole("button", { name: "Continue", exact: true }).click();
  await enterCode(page, await codeFor(mail, "text-message", `+447400${digits}`));
  await page.getByLabel("First name").fill("Sam");
  await page.getByLabel("Last name").fill(last);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByLabel("Day").fill("3");
  await page.getByLabel("Month").fill("4");
  await page.getByLabel("Year").fill("1981");
  await page.getByRole("button", { name: "Continue" }).click();
  await expectHeading(page, "Your DfE Identity account has been created");
  await page.context().close();

  // Then, in a new browser, "create an account" again with the same email (seed 002 scenario 1).
  const again = await newPage(browser, baseURL!);
  await startAtNpq(again);
  await again.getByRole("button", { name: "Create a DfE Identity account" }).click();
  await again.getByLabel("Email address").fill(email);
  await again.getByRole("button", { name: "Continue" }).click();
  await enterCode(again, await codeFor(mail, "email", email));
  await expectHeading(again, "You already have a DfE Identity account");
  await expectNoAxeViolations(again);
  await again.context().close();
  await mail.context().close();
});
