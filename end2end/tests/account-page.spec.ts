// The DfE Identity account page (issue 13 §4, DESIGN §7.3), JavaScript on and off, with axe on every page: the
// holder changes their email (a code sent to the new address), their mobile (a code texted to the new number),
// their name and date of birth (no TRN held yet), each with bad input first that shows the GOV.UK error and keeps
// what was typed; then signs out. That the name and date of birth no longer change once a TRN is held is checked
// in account-merge.spec.ts, whose merged account holds one.
import { test, expect, type Page } from "@playwright/test";
import { expectErrors, expectNoAxeViolations, uniqueName } from "./helpers";
import {
  applicant,
  clickContinue,
  codeFor,
  createAccount,
  enterCode,
  expectHeading,
  mailbox,
  mobileDigits,
} from "./account-helpers";

test.describe.configure({ timeout: 180_000 });

const ACCOUNT = "Your DfE Identity account";

/** Back on the account page with the success banner `banner`, and axe finds nothing. */
async function expectChanged(page: Page, banner: string) {
  await expect(page).toHaveURL(/\/account$/);
  await expectHeading(page, ACCOUNT);
  await expect(page.locator(".govuk-notification-banner--success")).toContainText(banner);
  await expectNoAxeViolations(page);
}

async function change(page: Page, what: string, heading: string) {
  await page.getByRole("link", { name: new RegExp(`^Change\\s+${what}$`) }).click();
  await expectHeading(page, heading);
}

test("an account holder changes their email and mobile with a code sent to the new one, their name and date of birth, then signs out", async ({
  page,
  browser,
  baseURL,
}) => {
  const mail = await mailbox(browser, baseURL!);
  const who = applicant("Robin", uniqueName(), ["14", "7", "1988"]);
  await createAccount(page, mail, who);
  await page.goto("/account");
  await expectHeading(page, ACCOUNT);
  const details = page.locator(".govuk-summary-list");
  await expect(details).toContainText(who.email);
  await expect(details).toContainText(`+447400${who.digits}`);
  await expect(page.locator("#details-locked")).toHaveCount(0);
  await expectNoAxeViolations(page);

  // Email: a Unicode local part is refused and kept; a new address gets the code, and the account changes only then.
  await change(page, "email address", "What is your new email address?");
  await expectNoAxeViolations(page);
  await page.getByLabel("New email address").fill("renée@example.com");
  await clickContinue(page);
  await expectErrors(page, ["Enter an email address in the correct format, like name@example.com"]);
  await expect(page.getByLabel("New email address")).toHaveValue("renée@example.com");
  await expectNoAxeViolations(page);
  const newEmail = `${uniqueName("new").toLowerCase()}+account@example.com`;
  await page.getByLabel("New email address").fill(newEmail);
  await clickContinue(page);
  await expectHeading(page, "Check your email");
  await expect(page.locator("main")).toContainText(newEmail);
  await expectNoAxeViolations(page);
  await page.goto("/account");
  await expect(details).toContainText(who.email);
  await page.goto("/account/email/code");
  await enterCode(page, await codeFor(mail, "email", newEmail));
  await expectChanged(page, "Your email address has been changed");
  await expect(details).toContainText(newEmail);
  await expect(details).not.toContainText(who.email);

  // Mobile: a malformed number is refused and kept; an international one gets the code by text.
  await change(page, "mobile number", "What is your new mobile number?");
  await expectNoAxeViolations(page);
  await page.getByLabel("New mobile number").fill("++44 7400 123456");
  await clickContinue(page);
  await expectErrors(page, [
    "Enter a mobile number in the correct format, like 07700 900 982 or, for international numbers, +33 6 12 34 56 78",
  ]);
  await expect(page.getByLabel("New mobile number")).toHaveValue("++44 7400 123456");
  await expectNoAxeViolations(page);
  const digits = mobileDigits();
  await page.getByLabel("New mobile number").fill(`+33 6 12 ${digits.slice(0, 2)} ${digits.slice(2, 4)} ${digits.slice(4)}`);
  await clickContinue(page);
  await expectHeading(page, "Check your phone");
  await expectNoAxeViolations(page);
  await enterCode(page, await codeFor(mail, "text-message", `+33612${digits}`));
  await expectChanged(page, "Your mobile number has been changed");
  await expect(details).toContainText(`+33612${digits}`);

  // Name: an empty first name is refused and the rest kept; then a new name with a preferred name.
  await change(page, "name", "What is your name?");
  await expect(page.getByLabel("Last name")).toHaveValue(who.last);
  await page.getByLabel("First name").fill("");
  await page.getByLabel("Preferred name (optional)").fill("Bobbi");
  await clickContinue(page);
  await expectErrors(page, ["Enter your first name"]);
  await expect(page.getByLabel("Last name")).toHaveValue(who.last);
  await expect(page.getByLabel("Preferred name (optional)")).toHaveValue("Bobbi");
  await expectNoAxeViolations(page);
  await page.getByLabel("First name").fill("Roberta");
  await clickContinue(page);
  await expectChanged(page, "Your name has been changed");
  await expect(details).toContainText(`Roberta ${who.last}`);
  await expect(details).toContainText("Bobbi");

  // Date of birth: a day that does not exist is refused and kept; then a real one.
  await change(page, "date of birth", "What is your date of birth?");
  await expect(page.getByLabel("Year")).toHaveValue("1988");
  await page.getByLabel("Day").fill("30");
  await page.getByLabel("Month").fill("2");
  await clickContinue(page);
  await expectErrors(page, ["Date of birth must be a real date"]);
  await expect(page.getByLabel("Day")).toHaveValue("30");
  await expect(page.getByLabel("Month")).toHaveValue("2");
  await expectNoAxeViolations(page);
  await page.getByLabel("Day").fill("29");
  await clickContinue(page);
  await expectChanged(page, "Your date of birth has been changed");
  await expect(details).toContainText("29 February 1988");

  // Sign out: the account page then sends them to sign in (GOV.UK One Login's, the stand-in's here).
  await page.locator("main").getByRole("link", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signed-out/);
  await expectNoAxeViolations(page);
  await page.goto("/account");
  await expect(page).toHaveURL(new RegExp(`^http://127\\.0\\.0\\.1:${Number(process.env.E2E_PORT ?? 3100) + 1}/authorize`));
  await mail.context().close();
});
