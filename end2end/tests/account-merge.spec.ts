// "TRN in use" (DESIGN §7.3, issue 13 §3 and §6), from the sample NPQ service (accounts offered, trn = optional),
// JavaScript on and off, with axe on every page the person sees. A DfE Identity account whose answers find a record
// another person already holds is asked whether they can reach that person's email (partly hidden): "no" asks
// support; "yes" sends a code there, and the right code merges the two into one person, who goes back to the
// service with the TRN. The holder may be another account (then they choose which email to keep) or a teacher
// connected through GOV.UK One Login (the code goes to the One Login email on file, and the person ends with both
// ways in). Each test's record is a stand-in persona's that no other spec connects.
import { test, expect, type Page } from "@playwright/test";
import { expectErrors, expectNoAxeViolations, newPage } from "./helpers";
import {
  NPQ,
  applicant,
  clickContinue,
  codeFor,
  createAccount,
  dobOf,
  enterCode,
  expectHeading,
  findRecordWith,
  mailbox,
  npq,
  persona,
  type Applicant,
  type Persona,
} from "./account-helpers";

// Three accounts in the first test, each with an email and a text; without JavaScript each axe check replays the page.
test.describe.configure({ timeout: 240_000 });

/** Back at NPQ, signed in, with `trn` found. */
async function expectAtNpqWith(page: Page, trn: string) {
  await expectHeading(page, "You are signed in");
  await expect(page.locator("body")).toContainText(trn);
  await expect(page.locator("body")).toContainText("found");
}

/** A new account for `p`'s name and date of birth, which answers with `p`'s NINO: the record is someone else's. */
async function accountFindsHeldRecord(page: Page, mail: Page, p: Persona, heading: string): Promise<Applicant> {
  const who = applicant(p.first_name, p.last_name, dobOf(p));
  await createAccount(page, mail, who);
  await findRecordWith(page, p.nino_hint);
  await expect(page).toHaveURL(/\/account\/trn-in-use$/);
  await expectHeading(page, heading);
  return who;
}

const ANOTHER_ACCOUNT = "Your teaching record is already linked to another account";
const ANOTHER_SIGN_IN = "Your teaching record is already linked to another sign-in";

test("a record another account holds: 'cannot access' asks support; 'yes', the code and the email kept merge them, back at the service with the TRN", async ({
  page,
  browser,
  baseURL,
}) => {
  const mail = await mailbox(browser, baseURL!);
  const p = await persona("account-merge");
  expect(p.nino_hint).not.toBeNull();

  // The holder: an account that found the record first.
  const holder = applicant(p.first_name, p.last_name, dobOf(p));
  await createAccount(page, mail, holder);
  await findRecordWith(page, p.nino_hint);
  await expectHeading(page, "We found your teaching record");
  await expect(page.getByTestId("found-trn")).toHaveText(p.trn_hint!);
  await page.context().close();

  // Someone else with the same answers cannot reach the holder's email: support, and NPQ meanwhile.
  const stuck = await newPage(browser, baseURL!);
  await accountFindsHeldRecord(stuck, mail, p, ANOTHER_ACCOUNT);
  const masked = `${holder.email[0]}****@****.com`;
  await expect(stuck.locator("main")).toContainText(masked);
  await expect(stuck.locator("main")).not.toContainText(holder.email);
  await expectNoAxeViolations(stuck);
  // No answer: the GOV.UK error.
  await clickContinue(stuck);
  await expectErrors(stuck, ["Select yes if you can access this email address"]);
  await expectNoAxeViolations(stuck);
  await stuck.getByLabel("No, I cannot access this email address").check();
  await clickContinue(stuck);
  const heading = stuck.getByRole("heading", { level: 1 });
  await expect(heading).toHaveText(/We’re still looking at your request|You are signed in/);
  if ((await heading.innerText()) !== "You are signed in") {
    await expect(stuck.locator("main")).toContainText(/TRS-\d{6,}/);
    await expectNoAxeViolations(stuck);
    await stuck.getByRole("button", { name: `Continue to ${NPQ}` }).click();
  }
  await expectHeading(stuck, "You are signed in");
  await expect(stuck.locator("body")).toContainText("pending");
  await expect(stuck.locator("body")).not.toContainText(p.trn_hint!);
  await stuck.context().close();

  // A third with the same answers can: the code goes to the holder's email, they keep their own, and merge.
  const asker = await newPage(browser, baseURL!);
  const mine = await accountFindsHeldRecord(asker, mail, p, ANOTHER_ACCOUNT);
  await asker.getByLabel("Yes, send a security code to this email address").check();
  await clickContinue(asker);
  await expectHeading(asker, "Check your email");
  await expect(asker.locator("main")).toContainText(masked);
  await expectNoAxeViolations(asker);
  await enterCode(asker, await codeFor(mail, "email", holder.email));

  await expectHeading(asker, "Which email address do you want to keep?");
  await expectNoAxeViolations(asker);
  await clickContinue(asker);
  await expectErrors(asker, ["Select which email address you want to keep"]);
  await expectNoAxeViolations(asker);
  await asker.getByLabel(mine.email, { exact: true }).check();
  await clickContinue(asker);
  await expectAtNpqWith(asker, p.trn_hint!);

  // One account now: the email kept, the holder's TRN, and (a TRN being held) a name and date of birth that no
  // longer change (DESIGN §7.3, account page).
  await asker.goto("/account");
  await expectHeading(asker, "Your DfE Identity account");
  const details = asker.locator(".govuk-summary-list");
  await expect(details).toContainText(mine.email);
  await expect(details).not.toContainText(holder.email);
  await expect(details).toContainText(p.trn_hint!);
  await expect(asker.locator("#details-locked")).toBeVisible();
  await expect(asker.getByRole("link", { name: /Change\s+name/ })).toHaveCount(0);
  await expect(asker.getByRole("link", { name: /Change\s+date of birth/ })).toHaveCount(0);
  await expect(asker.getByRole("link", { name: /Change\s+email address/ })).toHaveCount(1);
  await expectNoAxeViolations(asker);
  for (const path of ["/account/name", "/account/date-of-birth"]) {
    await asker.goto(path);
    await expect(asker).toHaveURL(/\/account$/);
    await expectHeading(asker, "Your DfE Identity account");
  }
  await asker.context().close();

  // The holder's email no longer signs in to an account: a code to it finds none.
  const gone = await newPage(browser, baseURL!);
  await gone.goto(npq());
  await gone.getByRole("link", { name: "Start now" }).click();
  await gone.getByRole("button", { name: "Sign in with a DfE Identity account" }).click();
  await gone.getByLabel("Email address").fill(holder.email);
  await clickContinue(gone);
  await enterCode(gone, await codeFor(mail, "email", holder.email));
  await expectHeading(gone, "You do not have a DfE Identity account yet");
  await gone.context().close();
  await mail.context().close();
});

/** At the stand-in's picker: the persona `id` and an outcome. */
async function pick(page: Page, id: string, outcome: string) {
  await expect(page).toHaveURL(/\/authorize/);
  await page.getByLabel(`(${id})`, { exact: false }).first().check();
  await page.getByLabel(outcome, { exact: false }).first().check();
  await page.getByRole("button", { name: /continue/i }).click();
}

/** Signs in to Teacher ID with One Login as `id`, proving identity; an exact match is connected on the way. */
async function oneLoginConnected(page: Page, id: string) {
  await page.goto("/sign-in");
  await pick(page, id, "Signed in (no identity check)");
  await pick(page, id, "Signed in and identity proven");
  await expect(page).toHaveURL(/\/connected$/);
}

test("one person, two ways in: a record connected through One Login and found by an account sends the code to the One Login email, then both reach it", async ({
  page,
  browser,
  baseURL,
}) => {
  const mail = await mailbox(browser, baseURL!);
  const p = await persona("two-ways-in");
  await oneLoginConnected(page, "two-ways-in");
  await page.context().close();

  const asker = await newPage(browser, baseURL!);
  const mine = await accountFindsHeldRecord(asker, mail, p, ANOTHER_SIGN_IN);
  await expect(asker.locator("main")).toContainText("GOV.UK One Login");
  await expect(asker.locator("main")).toContainText(`${p.email[0]}****@****`);
  await expect(asker.locator("main")).not.toContainText(p.email);
  await expectNoAxeViolations(asker);
  await asker.getByLabel("Yes, send a security code to this email address").check();
  await clickContinue(asker);
  await expectHeading(asker, "Check your email");
  // A wrong code first: the GOV.UK error, and the code typed is kept.
  const code = await codeFor(mail, "email", p.email);
  const wrong = code === "000000" ? "111111" : "000000";
  await enterCode(asker, wrong);
  await expectErrors(asker, ["Enter a correct security code"]);
  await expect(asker.getByLabel("Security code")).toHaveValue(wrong);
  await expectNoAxeViolations(asker);
  // One Login stays a way in whatever happens, so there is no email to choose: merged at once.
  await enterCode(asker, code);
  await expectAtNpqWith(asker, p.trn_hint!);
  // Signed in with the account, the account page is the account's, though One Login verified this person.
  await asker.goto("/account");
  await expectHeading(asker, "Your DfE Identity account");
  await expect(asker.locator(".govuk-summary-list")).toContainText(mine.email);
  await expect(asker.locator(".govuk-summary-list")).toContainText(p.trn_hint!);
  await expectNoAxeViolations(asker);
  await asker.context().close();

  // One Login still reaches the record, as the same person.
  const again = await newPage(browser, baseURL!);
  await again.goto("/sign-in");
  await pick(again, "two-ways-in", "Signed in (no identity check)");
  await expect(again).toHaveURL(/\/record$/);
  await expect(again.getByText(p.trn_hint!, { exact: true })).toBeVisible();
  await again.context().close();
  await mail.context().close();
});
