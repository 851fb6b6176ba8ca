// No duplicate DfE Identity accounts (seed 002 scenarios 2 and 3, DESIGN §7.3), from the sample NPQ service,
// JavaScript on and off, with axe on every page the person sees: a mobile another account has signs in to that
// account; the same name (a first-name synonym) and date of birth offers the other account, its email partly
// hidden, and either signs in to it with a code sent to that email or creates the new account. Codes are read from
// the development mailbox, as a person would read their email and texts.
import { test, expect, type Browser, type Page } from "@playwright/test";
import { expectErrors, expectNoAxeViolations, newPage, uniqueName } from "./helpers";
import {
  NPQ,
  applicant,
  clickContinue,
  codeFor,
  createAccount,
  enterCode,
  expectHeading,
  mailbox,
  nameAndDateOfBirth,
  proveEmailAndMobile,
  startCreating,
  type Applicant,
} from "./account-helpers";

// Two accounts per test, each with an email and a text, and without JavaScript each axe check replays the page.
test.describe.configure({ timeout: 180_000 });

/** This browser's account page shows `who`'s email and name: it is signed in to their account. */
async function expectSignedInAs(page: Page, who: Applicant) {
  await page.goto("/account");
  await expectHeading(page, "Your DfE Identity account");
  await expect(page.locator(".govuk-summary-list")).toContainText(who.email);
  await expect(page.locator(".govuk-summary-list")).toContainText(`${who.first} ${who.last}`);
}

test("creating an account with a mobile another account has signs in to that account (seed 002 scenario 2)", async ({
  page,
  browser,
  baseURL,
}) => {
  const mail = await mailbox(browser, baseURL!);
  const first = applicant("Robin", uniqueName(), ["12", "6", "1984"]);
  await createAccount(page, mail, first);
  await page.context().close();

  // Another email, the same mobile, in another browser.
  const again = await newPage(browser, baseURL!);
  const second: Applicant = { ...applicant("Robin", uniqueName(), ["12", "6", "1984"]), digits: first.digits };
  await startCreating(again);
  await again.getByLabel("Email address").fill(second.email);
  await clickContinue(again);
  await enterCode(again, await codeFor(mail, "email", second.email));
  await expectHeading(again, "What is your mobile number?");
  // A malformed number first: the GOV.UK error, and what was typed is kept.
  await again.getByLabel("Mobile number").fill("07400 12ab34");
  await clickContinue(again);
  await expectErrors(again, [
    "Enter a mobile number in the correct format, like 07700 900 982 or, for international numbers, +33 6 12 34 56 78",
  ]);
  await expect(again.getByLabel("Mobile number")).toHaveValue("07400 12ab34");
  await expectNoAxeViolations(again);
  // The same number in another shape: +44 and spaces.
  await again.getByLabel("Mobile number").fill(`+44 7400 ${first.digits.slice(0, 3)} ${first.digits.slice(3)}`);
  await clickContinue(again);
  await expectHeading(again, "Check your phone");
  await enterCode(again, await codeFor(mail, "text-message", `+447400${first.digits}`));

  await expectHeading(again, "You already have a DfE Identity account");
  await expectNoAxeViolations(again);
  await again.getByRole("button", { name: `Continue to ${NPQ}` }).click();
  await expectHeading(again, "We need to find your teaching record");
  await expectSignedInAs(again, first);
  await expect(again.locator(".govuk-summary-list")).not.toContainText(second.email);
  await expectNoAxeViolations(again);
  await again.context().close();
  await mail.context().close();
});

/**
 * An account, then in another browser a second person with the same last name and date of birth and `first` as
 * first name, up to "Is this your account?" (checking the page and its error). The mailbox, the second browser and
 * both people.
 */
async function atIsThisYou(page: Page, browser: Browser, baseURL: string, first: string) {
  const mail = await mailbox(browser, baseURL);
  const existing = applicant("William", uniqueName(), ["3", "11", "1979"]);
  await createAccount(page, mail, existing);
  await page.context().close();
  const other = applicant(first, existing.last, existing.dob);
  const again = await newPage(browser, baseURL);
  await startCreating(again);
  await badEmails(again);
  await proveEmailAndMobile(again, mail, other);
  await nameAndDateOfBirth(again, other);

  await expectHeading(again, "Is this your account?");
  const main = again.locator("main");
  await expect(main).toContainText(`${existing.email[0]}****@****.com`);
  await expect(main).not.toContainText(existing.email);
  await expectNoAxeViolations(again);
  // No answer: the GOV.UK error.
  await clickContinue(again);
  await expectErrors(again, ["Select yes if this is your account"]);
  await expectNoAxeViolations(again);
  return { mail, again, existing, other };
}

/** At the email page: a very long email and one with a Unicode local part get GOV.UK errors and are kept. */
async function badEmails(page: Page) {
  const long = `${"a".repeat(250)}@example.com`;
  await page.getByLabel("Email address").fill(long);
  await clickContinue(page);
  await expectErrors(page, ["Email address must be 254 characters or fewer"]);
  await expect(page.getByLabel("Email address")).toHaveValue(long);
  await expectNoAxeViolations(page);
  await page.getByLabel("Email address").fill("zoë@example.com");
  await clickContinue(page);
  await expectErrors(page, ["Enter an email address in the correct format, like name@example.com"]);
  await expect(page.getByLabel("Email address")).toHaveValue("zoë@example.com");
}

test("the same name (a synonym) and date of birth as an account: 'yes' and the code sent to its email sign in to it (seed 002 scenario 3)", async ({
  page,
  browser,
  baseURL,
}) => {
  const { mail, again, existing, other } = await atIsThisYou(page, browser, baseURL!, "Bill");

  await again.getByLabel("Yes, send a security code to this email address").check();
  await clickContinue(again);
  await expectHeading(again, "Check your email");
  await expect(again.locator("main")).toContainText(`${existing.email[0]}****@****.com`);
  await expectNoAxeViolations(again);
  // The code went to the existing account's email, not to the one this person proved.
  await enterCode(again, await codeFor(mail, "email", existing.email));
  await expectHeading(again, "We need to find your teaching record");
  await expectSignedInAs(again, existing);
  await again.context().close();
  await mail.context().close();
});

test("the same name and date of birth as an account: 'not me' creates the new account (seed 002 scenario 3)", async ({
  page,
  browser,
  baseURL,
}) => {
  const { mail, again, existing, other } = await atIsThisYou(page, browser, baseURL!, "Will");

  await again.getByLabel("No, this is not me: create a new account").check();
  await clickContinue(again);
  await expectHeading(again, "Your DfE Identity account has been created");
  await expectNoAxeViolations(again);
  await again.getByRole("button", { name: `Continue to ${NPQ}` }).click();
  await expectHeading(again, "We need to find your teaching record");
  await expectSignedInAs(again, other);
  await again.context().close();
  await mail.context().close();
});
