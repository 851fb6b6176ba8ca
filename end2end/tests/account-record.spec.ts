// Finding a DfE Identity account holder's teaching record (issue 13 §3, DESIGN §7.3), from the sample NPQ service
// (accounts offered, trn = optional), JavaScript on and off, with axe on every page: a new account answers the
// National Insurance number, TRN and QTS questions, checks its answers, and is found (then back at NPQ with its
// TRN); an account that typed a TRN not its own is found by its other answers and told its TRN; an account
// nobody's record matches gets the waiting page and goes back to NPQ with its TRN pending.
import { test, expect, type Page } from "@playwright/test";
import { expectErrors, expectNoAxeViolations, uniqueName } from "./helpers";
import {
  NPQ,
  NINO_QUESTION,
  QTS_QUESTION,
  TRN_QUESTION,
  answer,
  applicant,
  clickContinue,
  createAccount,
  expectHeading,
  mailbox,
  persona,
  type Applicant,
} from "./account-helpers";

test.describe.configure({ timeout: 150_000 });

/** Creates `who`'s account from NPQ and goes on from "We need to find your teaching record" (checked with axe). */
async function createAndStart(page: Page, mail: Page, who: Applicant) {
  await createAccount(page, mail, who);
  await expectNoAxeViolations(page);
  await clickContinue(page);
}

test("an account holder answers the record questions and is found, then goes back to the service with their TRN", async ({
  page,
  browser,
  baseURL,
}) => {
  const mail = await mailbox(browser, baseURL!);
  const p = await persona("name-changed");
  expect(p.nino_hint).not.toBeNull();
  const [year, month, day] = p.date_of_birth.split("-");
  await createAndStart(page, mail, applicant(p.first_name, p.last_name, [day, month, year]));

  await expectHeading(page, NINO_QUESTION);
  await expectNoAxeViolations(page);
  await answer(page, NINO_QUESTION, "National Insurance number", p.nino_hint);

  // A TRN in the wrong format: the GOV.UK error, and what was typed is kept.
  await answer(page, TRN_QUESTION, "Teacher reference number (TRN)", "12 34");
  await expectErrors(page, ["Enter a TRN in the correct format, like 1234567"]);
  await expect(page.getByLabel("Teacher reference number (TRN)", { exact: true })).toHaveValue("12 34");
  await expectNoAxeViolations(page);
  await answer(page, TRN_QUESTION, "", null);

  await expectHeading(page, QTS_QUESTION);
  await expectNoAxeViolations(page);
  await answer(page, QTS_QUESTION, "", null);

  await expectHeading(page, "Check your answers");
  await expect(page.locator("main")).toContainText(p.nino_hint!.replace(/\s/g, ""));
  await expectNoAxeViolations(page);
  await page.getByRole("button", { name: "Find my teaching record" }).click();

  await expectHeading(page, "We found your teaching record");
  await expect(page.getByTestId("found-trn")).toHaveText(p.trn_hint!);
  await expectNoAxeViolations(page);
  await page.getByRole("button", { name: `Continue to ${NPQ}` }).click();
  await expectHeading(page, "You are signed in");
  await expect(page.locator("body")).toContainText(p.trn_hint!);
  await expect(page.locator("body")).toContainText("found");
  await mail.context().close();
});

test("an account nobody's record matches waits for support, and the service (trn = optional) goes on with its TRN pending", async ({
  page,
  browser,
  baseURL,
}) => {
  const mail = await mailbox(browser, baseURL!);
  await createAndStart(page, mail, applicant("Robin", uniqueName(), ["9", "9", "1979"]));
  await answer(page, NINO_QUESTION, "", null);
  await answer(page, TRN_QUESTION, "", null);
  // "Yes" without a provider or year: both errors, then "No".
  await expectHeading(page, QTS_QUESTION);
  await page.getByRole("group").getByLabel("Yes", { exact: true }).check();
  await clickContinue(page);
  await expectErrors(page, ["Enter where you did your initial teacher training", "Enter the year you were awarded QTS"]);
  await expectNoAxeViolations(page);
  await answer(page, QTS_QUESTION, "", null);
  await expectHeading(page, "Check your answers");
  await page.getByRole("button", { name: "Find my teaching record" }).click();

  await expectHeading(page, "We’re still looking at your request");
  await expect(page.locator("main")).toContainText(/TRS-\d{6,}/);
  await expectNoAxeViolations(page);
  await page.getByRole("button", { name: `Continue to ${NPQ}` }).click();
  await expectHeading(page, "You are signed in");
  await expect(page.locator("body")).toContainText("pending");
  await mail.context().close();
});

test("an account holder who types a TRN that is not theirs is found by their other answers and told their TRN", async ({
  page,
  browser,
  baseURL,
}) => {
  const mail = await mailbox(browser, baseURL!);
  const p = await persona("typed-trn-differs");
  expect(p.nino_hint).not.toBeNull();
  expect(p.trn_hint).not.toBeNull();
  const [year, month, day] = p.date_of_birth.split("-");
  await createAndStart(page, mail, applicant(p.first_name, p.last_name, [day, month, year]));
  await answer(page, NINO_QUESTION, "National Insurance number", p.nino_hint);
  // A TRN in the right shape that is not their record's (a mistyped digit, say).
  const typed = p.trn_hint === "9999999" ? "9999998" : "9999999";
  await answer(page, TRN_QUESTION, "Teacher reference number (TRN)", typed);
  await answer(page, QTS_QUESTION, "", null);
  await expectHeading(page, "Check your answers");
  await expect(page.locator("main")).toContainText(typed);
  await page.getByRole("button", { name: "Find my teaching record" }).click();

  await expectHeading(page, "We found your teaching record");
  await expect(page.getByTestId("found-trn")).toHaveText(p.trn_hint!);
  await expect(page.getByTestId("typed-trn-differs")).toHaveText(
    `The TRN you gave us, ${typed}, is not the TRN on your teaching record. Your TRN is ${p.trn_hint}.`,
  );
  await expectNoAxeViolations(page);
  await page.getByRole("button", { name: `Continue to ${NPQ}` }).click();
  await expectHeading(page, "You are signed in");
  await expect(page.locator("body")).toContainText(p.trn_hint!);
  await mail.context().close();
});
