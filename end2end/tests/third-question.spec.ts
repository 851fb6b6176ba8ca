// The third question before support (DESIGN §5, issue 15 §4), JavaScript on and off, with axe: when the NINO and
// TRN questions have not connected someone and exactly one active record agrees with their names and date of birth,
// they are asked whether they have QTS, where they did their initial teacher training (a text input suggesting the
// records' providers from a <datalist>, so it works without JavaScript) and the year of QTS.
import { test, expect, type Page } from "@playwright/test";
import { expectErrors, expectNoAxeViolations } from "./helpers";

test.describe.configure({ timeout: 120_000 });

const standin = `http://127.0.0.1:${Number(process.env.E2E_PORT ?? 3100) + 1}`;

type Persona = {
  id: string;
  first_name: string;
  last_name: string;
  date_of_birth: string;
  trn_hint: string | null;
  itt_provider_hint: string | null;
  qts_year_hint: number | null;
};

async function persona(id: string): Promise<Persona> {
  const all = (await (await fetch(`${standin}/admin/personas`)).json()) as Persona[];
  const found = all.find((p) => p.id === id);
  if (!found) throw new Error(`no persona ${id}`);
  return found;
}

async function pick(page: Page, who: string, outcome: string) {
  await expect(page).toHaveURL(/\/authorize/);
  await page.getByLabel(who, { exact: false }).first().check();
  await page.getByLabel(outcome, { exact: false }).first().check();
  await page.getByRole("button", { name: /continue/i }).click();
}

/** Someone typed into the stand-in's picker, with `p`'s names and date of birth but their own One Login. */
async function pickLookalike(page: Page, p: Persona, email: string, outcome: string) {
  await expect(page).toHaveURL(/\/authorize/);
  await page.locator('input[name="persona"][value="custom"]').check();
  await page.getByLabel(outcome, { exact: false }).first().check();
  const [year, month, day] = p.date_of_birth.split("-");
  await page.locator("#first_name").fill(p.first_name);
  await page.locator("#last_name").fill(p.last_name);
  await page.locator("#dob-day").fill(String(Number(day)));
  await page.locator("#dob-month").fill(String(Number(month)));
  await page.locator("#dob-year").fill(year);
  await page.locator("#email").fill(email);
  await page.getByRole("button", { name: /continue/i }).click();
}

async function expectHeading(page: Page, text: string) {
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(text);
}

/** From "You've signed in and verified your identity": "No" to the NINO and TRN questions. */
async function noNinoNoTrn(page: Page) {
  await expect(page).toHaveURL(/\/connect$/);
  await page.getByRole("button", { name: "Continue" }).click();
  for (const question of ["nino", "trn"]) {
    await expect(page).toHaveURL(new RegExp(`/connect/${question}$`));
    await page.getByRole("group").getByLabel("No", { exact: true }).check();
    await page.getByRole("button", { name: "Continue" }).click();
  }
}

const QTS = "Have you been awarded qualified teacher status (QTS)?";
const PROVIDER = "Where did you do your initial teacher training?";
const YEAR = "Year you were awarded QTS";

async function answerItt(page: Page, provider: string, year: string) {
  await page.getByRole("group", { name: QTS }).getByLabel("Yes", { exact: true }).check();
  await page.getByLabel(PROVIDER).fill(provider);
  await page.getByLabel(YEAR).fill(year);
  await page.getByRole("button", { name: "Continue" }).click();
}

test("the ITT provider and QTS year connect someone whose record has no NINO, after bad input", async ({ page }) => {
  const p = await persona("itt-only");
  await page.goto("/");
  await page.getByRole("button", { name: "Start now" }).click();
  await pick(page, "(itt-only)", "Signed in (no identity check)");
  await pick(page, "(itt-only)", "Signed in and identity proven");
  await noNinoNoTrn(page);

  await expect(page).toHaveURL(/\/connect\/itt$/);
  await expectHeading(page, QTS);
  // The provider field suggests the records' providers, JavaScript or not.
  await expect(page.locator(`datalist#itt-providers option[value="${p.itt_provider_hint}"]`)).toHaveCount(1);
  await expect(page.getByLabel(PROVIDER)).toHaveAttribute("list", "itt-providers");
  await expectNoAxeViolations(page);

  // Nothing chosen.
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(/\/connect\/itt$/);
  await expectErrors(page, ["Select yes if you have been awarded qualified teacher status (QTS)"]);
  await expectNoAxeViolations(page);

  // Both fields wrong at once: both errors, both answers kept, the reveal open.
  await answerItt(page, "Leeds 🎓", "20l5");
  await expect(page).toHaveURL(/\/connect\/itt$/);
  await expectErrors(page, [
    "Initial teacher training provider must only include letters, numbers, spaces and the characters ' - . , & ( ) / :",
    "Year you were awarded QTS must be a number, like 2015",
  ]);
  await expect(page.getByLabel(PROVIDER)).toHaveValue("Leeds 🎓");
  await expect(page.getByLabel(YEAR)).toHaveValue("20l5");
  await expect(page.getByRole("group", { name: QTS }).getByLabel("Yes", { exact: true })).toBeChecked();
  await expectNoAxeViolations(page);

  // A year to come, and nothing for the provider.
  await answerItt(page, "", "2999");
  await expectErrors(page, [
    "Enter where you did your initial teacher training",
    "Year you were awarded QTS must be this year or in the past",
  ]);

  // The error summary's links lead to the fields.
  const summary = page.locator(".govuk-error-summary");
  await expect(summary.getByRole("link", { name: "Enter where you did your initial teacher training" })).toHaveAttribute("href", "#itt_provider");
  await expect(summary.getByRole("link", { name: /must be this year/ })).toHaveAttribute("href", "#qts_year");

  // The record's provider, typed loosely ("the", lower case), and its QTS year.
  await answerItt(page, `the ${p.itt_provider_hint!.toLowerCase()}`, String(p.qts_year_hint));
  await expect(page).toHaveURL(/\/connected$/);
  await expectHeading(page, "Your GOV.UK One Login is connected to your teaching record");
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByText(p.trn_hint!, { exact: true })).toBeVisible();
});

test("a wrong provider goes to support: check answers shows the answers with change links", async ({ page }, info) => {
  const p = await persona("itt-only");
  const email = `itt-lookalike-${info.project.name}@example.com`;
  await page.goto("/sign-in");
  await pickLookalike(page, p, email, "Signed in (no identity check)");
  await pickLookalike(page, p, email, "Signed in and identity proven");
  await noNinoNoTrn(page);
  await expect(page).toHaveURL(/\/connect\/itt$/);

  await answerItt(page, "Open University", String(p.qts_year_hint));
  await expect(page).toHaveURL(/\/connect\/not-found$/);
  await expectHeading(page, "We cannot find your teaching record");
  await page.getByRole("button", { name: "Continue" }).click();
  await expectHeading(page, "Check your answers before asking for support");
  const answers = page.locator(".govuk-summary-list");
  await expect(answers).toContainText("Qualified teacher status (QTS)");
  await expect(answers).toContainText("Open University");
  await expect(answers).toContainText(String(p.qts_year_hint));
  await expectNoAxeViolations(page);

  // Change: the answers are shown again, and a change comes back to check answers.
  await page.getByRole("link", { name: "Change initial teacher training provider" }).click();
  await expect(page).toHaveURL(/\/connect\/itt\?change=1$/);
  await expect(page.getByLabel(PROVIDER)).toHaveValue("Open University");
  await page.getByLabel(PROVIDER).fill("Open University, The");
  await page.getByLabel(YEAR).fill("1899");
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(/\/connect\/itt\?change=1$/);
  await expectErrors(page, ["Year you were awarded QTS must be 1900 or later"]);
  await page.getByRole("group", { name: QTS }).getByLabel("No", { exact: true }).check();
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(/\/connect\/check-answers$/);
  await expect(answers).not.toContainText("Open University");
  await expect(page.getByRole("link", { name: "Change whether you have qualified teacher status" })).toBeVisible();

  await page.getByRole("button", { name: "Get support" }).click();
  await expect(page).toHaveURL(/\/connect\/support-requested$/);
  await expect(page.locator("main")).toContainText(/TRS-\d{6,}/);
});
