// Finding a DfE Identity account holder's teaching record (issue 13 §3, DESIGN §7.3), from the sample NPQ service
// (accounts offered, trn = optional), JavaScript on and off, with axe on every page: a new account answers the
// National Insurance number, TRN and QTS questions, checks its answers, and is found (then back at NPQ with its
// TRN); an account nobody's record matches gets the waiting page and goes back to NPQ with its TRN pending.
import { test, expect, type Page, type Browser } from "@playwright/test";
import { expectErrors, expectNoAxeViolations, newPage, staffSignIn, uniqueName } from "./helpers";

test.describe.configure({ timeout: 150_000 });

const NPQ = "Register for an NPQ (sample)";
const port = () => Number(process.env.E2E_PORT ?? 3100);
const standin = () => `http://127.0.0.1:${port() + 1}`;

function npq(): string {
  return `http://127.0.0.1:${port() + (test.info().project.name === "js" ? 3 : 4)}/npq/`;
}

type Persona = {
  id: string;
  first_name: string;
  last_name: string;
  date_of_birth: string;
  trn_hint: string | null;
  nino_hint: string | null;
};

/** A stand-in persona drawn from a seeded record. "name-changed" is no other spec's: its record is free. */
async function persona(id: string): Promise<Persona> {
  const all = (await (await fetch(`${standin()}/admin/personas`)).json()) as Persona[];
  const found = all.find((p) => p.id === id);
  if (!found) throw new Error(`no persona ${id}`);
  return found;
}

async function expectHeading(page: Page, text: string) {
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(text);
}

/** The newest code sent to `to`, from the development mailbox (read by a member of staff). */
async function codeFor(mail: Page, kind: "email" | "text-message", to: string): Promise<string> {
  await mail.goto("/dev/mailbox");
  const card = mail.getByTestId(kind).filter({ hasText: to }).first();
  await expect(card).toBeVisible();
  return (await card.innerText()).match(/\b(\d{6})\b/)![1];
}

async function enterCode(page: Page, code: string) {
  await page.getByLabel("Security code").fill(code);
  await page.getByRole("button", { name: "Continue" }).click();
}

/** From NPQ's start, creates an account (`name`, born `dob` as [day, month, year]) and continues to NPQ. */
async function createAccount(page: Page, mail: Page, name: [string, string], dob: [string, string, string], offset: number) {
  const email = `${uniqueName("acct").toLowerCase()}@example.com`;
  const digits = String((Date.now() + offset) % 1_000_000).padStart(6, "0");
  await page.goto(npq());
  await page.getByRole("link", { name: "Start now" }).click();
  await page.getByRole("button", { name: "Create a DfE Identity account" }).click();
  await page.getByLabel("Email address").fill(email);
  await page.getByRole("button", { name: "Continue" }).click();
  await enterCode(page, await codeFor(mail, "email", email));
  await page.getByLabel("Mobile number").fill(`07400 ${digits}`);
  await page.getByRole("button", { name: "Continue", exact: true }).click();
  await enterCode(page, await codeFor(mail, "text-message", `+447400${digits}`));
  await page.getByLabel("First name").fill(name[0]);
  await page.getByLabel("Last name").fill(name[1]);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByLabel("Day").fill(dob[0]);
  await page.getByLabel("Month").fill(dob[1]);
  await page.getByLabel("Year").fill(dob[2]);
  await page.getByRole("button", { name: "Continue" }).click();
  await expectHeading(page, "Your DfE Identity account has been created");
  await page.getByRole("button", { name: `Continue to ${NPQ}` }).click();
  await expectHeading(page, "We need to find your teaching record");
  await expectNoAxeViolations(page);
  await page.getByRole("button", { name: "Continue" }).click();
}

/** Answers a yes/no question: "Yes" with `value` typed in `label`, or "No". */
async function answer(page: Page, heading: string, label: string, value: string | null) {
  await expectHeading(page, heading);
  const radios = page.getByRole("group");
  if (value === null) {
    await radios.getByLabel("No", { exact: true }).check();
  } else {
    await radios.getByLabel("Yes", { exact: true }).check();
    await page.getByLabel(label, { exact: true }).fill(value);
  }
  await page.getByRole("button", { name: "Continue" }).click();
}

const NINO_QUESTION = "Do you know your National Insurance number?";
const TRN_QUESTION = "Do you know your teacher reference number (TRN)?";
const QTS_QUESTION = "Have you been awarded qualified teacher status (QTS)?";

async function mailbox(browser: Browser, baseURL: string): Promise<Page> {
  const mail = await newPage(browser, baseURL);
  await staffSignIn(mail, "admin");
  return mail;
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
  await createAccount(page, mail, [p.first_name, p.last_name], [day, month, year], 0);

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
  await createAccount(page, mail, ["Robin", uniqueName()], ["9", "9", "1979"], 500_000);
  await answer(page, NINO_QUESTION, "", null);
  await answer(page, TRN_QUESTION, "", null);
  // "Yes" without a provider or year: both errors, then "No".
  await expectHeading(page, QTS_QUESTION);
  await page.getByRole("group").getByLabel("Yes", { exact: true }).check();
  await page.getByRole("button", { name: "Continue" }).click();
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
