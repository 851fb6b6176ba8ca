// What the DfE Identity account journeys (DESIGN §7.3) share: the sample NPQ service that offers accounts, the
// development mailbox where a person reads their emails and texts, and the account creation pages, driven as a
// person would, with JavaScript as the project says.
import { test, expect, type Browser, type Page } from "@playwright/test";
import { newPage, staffSignIn, uniqueName } from "./helpers";

export const NPQ = "Register for an NPQ (sample)";
const port = () => Number(process.env.E2E_PORT ?? 3100);

/** The sample NPQ (accounts offered, trn = optional) of this project's service. */
export function npq(): string {
  return `http://127.0.0.1:${port() + (test.info().project.name === "js" ? 3 : 4)}/npq/`;
}

export type Persona = {
  id: string;
  first_name: string;
  last_name: string;
  date_of_birth: string;
  email: string;
  trn_hint: string | null;
  nino_hint: string | null;
};

/** A stand-in persona drawn from a seeded record. */
export async function persona(id: string): Promise<Persona> {
  const all = (await (await fetch(`http://127.0.0.1:${port() + 1}/admin/personas`)).json()) as Persona[];
  const found = all.find((p) => p.id === id);
  if (!found) throw new Error(`no persona ${id}`);
  return found;
}

/** A persona's date of birth as the form's [day, month, year]. */
export function dobOf(p: Persona): Dob {
  const [year, month, day] = p.date_of_birth.split("-");
  return [String(Number(day)), String(Number(month)), year];
}

/** A page signed in to the console, to read the development mailbox. */
export async function mailbox(browser: Browser, baseURL: string): Promise<Page> {
  const page = await newPage(browser, baseURL);
  await staffSignIn(page, "admin");
  return page;
}

/** The newest security code sent to `to` (an email address, or a mobile in E.164), from the mailbox. */
export async function codeFor(mail: Page, kind: "email" | "text-message", to: string): Promise<string> {
  await mail.goto("/dev/mailbox");
  const card = mail.getByTestId(kind).filter({ hasText: to }).first();
  await expect(card).toBeVisible();
  const code = (await card.innerText()).match(/\b(\d{6})\b/);
  expect(code).not.toBeNull();
  return code![1];
}

export async function expectHeading(page: Page, text: string | RegExp) {
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(text);
}

export async function enterCode(page: Page, code: string) {
  await page.getByLabel("Security code").fill(code);
  await page.getByRole("button", { name: "Continue" }).click();
}

export async function clickContinue(page: Page) {
  await page.getByRole("button", { name: "Continue", exact: true }).click();
}

/** Six random digits: a UK mobile of its own is `07400` and these (07400 numbers are allocated to mobiles). */
export function mobileDigits(): string {
  return String(Math.floor(Math.random() * 1_000_000)).padStart(6, "0");
}

export type Dob = [day: string, month: string, year: string];

/** Someone creating an account: their email, mobile digits (after 07400), name and date of birth. */
export type Applicant = { email: string; digits: string; first: string; last: string; dob: Dob };

export function applicant(first: string, last: string, dob: Dob): Applicant {
  return { email: `${uniqueName("acct").toLowerCase()}@example.com`, digits: mobileDigits(), first, last, dob };
}

/** From NPQ's start to the choice of One Login or an account, then "Create a DfE Identity account". */
export async function startCreating(page: Page) {
  await page.goto(npq());
  await page.getByRole("link", { name: "Start now" }).click();
  await expectHeading(page, "How do you want to sign in?");
  await page.getByRole("button", { name: "Create a DfE Identity account" }).click();
  await expectHeading(page, "What is your email address?");
}

/** The email and its code, then the mobile and its code: where the journey goes next is the caller's to check. */
export async function proveEmailAndMobile(page: Page, mail: Page, who: Applicant) {
  await page.getByLabel("Email address").fill(who.email);
  await clickContinue(page);
  await expectHeading(page, "Check your email");
  await enterCode(page, await codeFor(mail, "email", who.email));
  await expectHeading(page, "What is your mobile number?");
  await page.getByLabel("Mobile number").fill(`07400 ${who.digits}`);
  await clickContinue(page);
  await expectHeading(page, "Check your phone");
  await enterCode(page, await codeFor(mail, "text-message", `+447400${who.digits}`));
}

/** The name and date of birth pages, from the name page. */
export async function nameAndDateOfBirth(page: Page, who: Applicant) {
  await expectHeading(page, "What is your name?");
  await page.getByLabel("First name").fill(who.first);
  await page.getByLabel("Last name").fill(who.last);
  await clickContinue(page);
  await expectHeading(page, "What is your date of birth?");
  await page.getByLabel("Day").fill(who.dob[0]);
  await page.getByLabel("Month").fill(who.dob[1]);
  await page.getByLabel("Year").fill(who.dob[2]);
  await clickContinue(page);
}

/**
 * Creates `who`'s account from NPQ's start and continues to NPQ, which asks for the teaching record. An account
 * with the same name and date of birth made earlier is answered "No, this is not me".
 */
export async function createAccount(page: Page, mail: Page, who: Applicant) {
  await startCreating(page);
  await proveEmailAndMobile(page, mail, who);
  await nameAndDateOfBirth(page, who);
  const heading = page.getByRole("heading", { level: 1 });
  await expect(heading).toHaveText(/Is this your account\?|Your DfE Identity account has been created/);
  if ((await heading.innerText()) === "Is this your account?") {
    await page.getByLabel("No, this is not me: create a new account").check();
    await clickContinue(page);
  }
  await expectHeading(page, "Your DfE Identity account has been created");
  await page.getByRole("button", { name: `Continue to ${NPQ}` }).click();
  await expectHeading(page, "We need to find your teaching record");
}

export const NINO_QUESTION = "Do you know your National Insurance number?";
export const TRN_QUESTION = "Do you know your teacher reference number (TRN)?";
export const QTS_QUESTION = "Have you been awarded qualified teacher status (QTS)?";

/** Answers a yes/no question: "Yes" with `value` typed in `label`, or "No". */
export async function answer(page: Page, heading: string, label: string, value: string | null) {
  await expectHeading(page, heading);
  const radios = page.getByRole("group");
  if (value === null) {
    await radios.getByLabel("No", { exact: true }).check();
  } else {
    await radios.getByLabel("Yes", { exact: true }).check();
    await page.getByLabel(label, { exact: true }).fill(value);
  }
  await clickContinue(page);
}

/** From "We need to find your teaching record": the NINO (or "No"), "No" TRN, "No" QTS, and look it up. */
export async function findRecordWith(page: Page, nino: string | null) {
  await expectHeading(page, "We need to find your teaching record");
  await clickContinue(page);
  await answer(page, NINO_QUESTION, "National Insurance number", nino);
  await answer(page, TRN_QUESTION, "", null);
  await answer(page, QTS_QUESTION, "", null);
  await expectHeading(page, "Check your answers");
  await page.getByRole("button", { name: "Find my teaching record" }).click();
}
