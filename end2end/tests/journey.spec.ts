// The connect journey (DESIGN §4) as a teacher walks it, JavaScript on and off, with axe on every page: automatic
// connection, by National Insurance number, by TRN, no match → support, possible duplicate → support, returning
// connected, returning with an open request, rate limits, and every bad answer to both questions.
import { test, expect, type Page } from "@playwright/test";
import { PNG, expectErrors, expectNoAxeViolations, pickTeacher, type Teacher } from "./helpers";

// Each journey is several One Login round trips and pages, and without JavaScript each axe check replays the page:
// more than the default 30 seconds on two cores.
test.describe.configure({ timeout: 120_000 });

const standin = `http://127.0.0.1:${Number(process.env.E2E_PORT ?? 3100) + 1}`;

type Persona = { id: string; trn_hint: string | null; nino_hint: string | null };

async function persona(id: string): Promise<Persona> {
  const res = await fetch(`${standin}/admin/personas`);
  const all = (await res.json()) as Persona[];
  const found = all.find((p) => p.id === id);
  if (!found) throw new Error(`no persona ${id}`);
  return found;
}

/** At the stand-in's picker: choose a persona (by the id in its label) and an outcome, and continue. */
async function pick(page: Page, who: string, outcome: string) {
  await expect(page).toHaveURL(/\/authorize/);
  await page.getByLabel(who, { exact: false }).first().check();
  await page.getByLabel(outcome, { exact: false }).first().check();
  await page.getByRole("button", { name: /continue/i }).click();
}

/** From the start page: sign in and prove identity as `id`. */
async function signInVerified(page: Page, id: string) {
  await page.goto("/");
  await page.getByRole("button", { name: "Start now" }).click();
  await pick(page, `(${id})`, "Signed in (no identity check)");
  await pick(page, `(${id})`, "Signed in and identity proven");
}

async function expectHeading(page: Page, text: string) {
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(text);
}

async function signOutAndBackIn(page: Page, id: string) {
  await page.getByRole("link", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signed-out\/done$/);
  await page.goto("/sign-in");
  await pick(page, `(${id})`, "Signed in (no identity check)");
}

async function answer(page: Page, question: "nino" | "trn", value: string | null) {
  await expect(page).toHaveURL(new RegExp(`/connect/${question}`));
  const group = page.getByRole("group");
  if (value === null) {
    await group.getByLabel("No", { exact: true }).check();
  } else {
    await group.getByLabel("Yes", { exact: true }).check();
    const label = question === "nino" ? "National Insurance number" : "Teacher reference number (TRN)";
    await page.getByLabel(label, { exact: true }).fill(value);
  }
  await page.getByRole("button", { name: "Continue" }).click();
}

test("an exact match is connected automatically, and goes straight to the record next time", async ({ page }) => {
  const exact = await persona("exact-match");
  await signInVerified(page, "exact-match");
  await expect(page).toHaveURL(/\/connected$/);
  await expectHeading(page, "Your GOV.UK One Login is connected to your teaching record");
  await expectNoAxeViolations(page);
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(/\/record$/);
  await expectHeading(page, "Your teaching record");
  await expect(page.getByText(exact.trn_hint!, { exact: true })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Qualified teacher status (QTS)" })).toBeVisible();
  await expectNoAxeViolations(page);

  await signOutAndBackIn(page, "exact-match");
  await expect(page).toHaveURL(/\/record$/);
  await expectHeading(page, "Your teaching record");
});

test("a record without an email address is connected by National Insurance number", async ({ page }) => {
  const p = await persona("nino-only");
  await signInVerified(page, "nino-only");
  await expect(page).toHaveURL(/\/connect$/);
  await expectHeading(page, "You’ve signed in and verified your identity");
  await expectNoAxeViolations(page);
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Do you know your National Insurance number?");
  await expectNoAxeViolations(page);
  await answer(page, "nino", p.nino_hint!.toLowerCase().replace(/(..)(..)(..)(..)(.)/, "$1 $2 $3 $4 $5"));
  await expect(page).toHaveURL(/\/connected$/);
});

test("a record without a National Insurance number is connected by TRN", async ({ page }) => {
  const p = await persona("trn-only");
  await signInVerified(page, "trn-only");
  await page.getByRole("button", { name: "Continue" }).click();
  await answer(page, "nino", null);
  await expectHeading(page, "Do you know your teacher reference number (TRN)?");
  await page.getByText("What is a TRN and how do I find it?").click();
  await expect(page.getByRole("link", { name: "find a lost TRN" })).toBeVisible();
  await expectNoAxeViolations(page);
  await answer(page, "trn", p.trn_hint!);
  await expect(page).toHaveURL(/\/connected$/);
});

test("no match: check answers, change an answer, get support, and come back to ‘still looking’", async ({ page }) => {
  await signInVerified(page, "no-match");
  await page.getByRole("button", { name: "Continue" }).click();
  await answer(page, "nino", "AB123456C");
  await answer(page, "trn", null);
  await expect(page).toHaveURL(/\/connect\/not-found$/);
  await expectHeading(page, "We cannot find your teaching record");
  await expectNoAxeViolations(page);
  await page.getByRole("button", { name: "Continue" }).click();
  await expectHeading(page, "Check your answers before asking for support");
  await expectNoAxeViolations(page);
  await page.getByRole("link", { name: "Change teacher reference number" }).click();
  await answer(page, "trn", "7654321");
  await expect(page).toHaveURL(/\/connect\/check-answers$/);
  await expect(page.getByText("7654321")).toBeVisible();
  await page.getByRole("button", { name: "Get support" }).click();
  await expect(page).toHaveURL(/\/connect\/support-requested$/);
  await expectHeading(page, "You’ve asked for support");
  const reference = (await page.locator(".govuk-panel__body strong").textContent())!;
  expect(reference).toMatch(/^TRS-\d{6}$/);
  await expectNoAxeViolations(page);

  await signOutAndBackIn(page, "no-match");
  await expect(page).toHaveURL(/\/request-pending$/);
  await expectHeading(page, "We’re still looking at your request");
  await expect(page.getByText(reference)).toBeVisible();
  await expectNoAxeViolations(page);
});

test("a possible duplicate is not connected and goes to support", async ({ page }) => {
  await signInVerified(page, "possible-duplicate");
  await expect(page).toHaveURL(/\/connect$/);
  await page.getByRole("button", { name: "Continue" }).click();
  await answer(page, "nino", null);
  await answer(page, "trn", null);
  // The same words as any other no-match: nothing says another record exists.
  await expectHeading(page, "We cannot find your teaching record");
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByRole("button", { name: "Get support" }).click();
  await expectHeading(page, "You’ve asked for support");
});

test("every bad answer to both questions gets its error and keeps what was typed", async ({ page }) => {
  // Their only record is deactivated, so nothing they type can connect them.
  await signInVerified(page, "deactivated-record");
  await page.goto("/connect/nino");
  await page.getByRole("button", { name: "Continue" }).click();
  await expectErrors(page, ["Select yes if you know your National Insurance number"]);
  await expectNoAxeViolations(page);

  const ninoFormat = "Enter a National Insurance number in the correct format, like QQ 12 34 56 C";
  const ninoCases: [string, string][] = [
    ["   ", "Enter your National Insurance number"],
    ["AB12345", ninoFormat],
    ["GB123456A", ninoFormat],
    ["A".repeat(51), ninoFormat],
    ["<script>alert('x')</script>", ninoFormat],
    ["'; DROP TABLE persons; --", ninoFormat],
  ];
  for (const [typed, message] of ninoCases) {
    await answer(page, "nino", typed);
    await expectErrors(page, [message]);
    if (typed.trim()) await expect(page.getByLabel("National Insurance number", { exact: true })).toHaveValue(typed);
  }
  await expectNoAxeViolations(page);
  await page.getByRole("link", { name: ninoFormat }).click();
  await expect(page.getByLabel("National Insurance number", { exact: true })).toBeFocused();

  await answer(page, "nino", null);
  await page.getByRole("button", { name: "Continue" }).click();
  await expectErrors(page, ["Select yes if you know your teacher reference number (TRN)"]);
  const trnFormat = "Enter a TRN in the correct format, like 1234567";
  const trnCases: [string, string][] = [
    ["", "Enter your teacher reference number (TRN)"],
    ["0000000", trnFormat],
    ["12345678", trnFormat],
    ["123 456", trnFormat],
    ["<b>1234567</b>", trnFormat],
  ];
  for (const [typed, message] of trnCases) {
    await answer(page, "trn", typed);
    await expectErrors(page, [message]);
    await expect(page.getByLabel("Teacher reference number (TRN)", { exact: true })).toHaveValue(typed);
  }
  await expectNoAxeViolations(page);
});

test("too many National Insurance numbers: told when to try again, and offered support", async ({ page }) => {
  // Someone else, so no other test's person is limited.
  await page.goto("/sign-in");
  for (const round of ["Signed in (no identity check)", "Signed in and identity proven"]) {
    await expect(page).toHaveURL(/\/authorize/);
    await page.getByLabel("Someone else", { exact: false }).check();
    await page.getByLabel(round, { exact: false }).check();
    await page.getByLabel("First name", { exact: true }).fill("Morwenna");
    await page.getByLabel("Last name", { exact: true }).fill("Trevithick-Penrose");
    await page.locator("#dob-day").fill("9");
    await page.locator("#dob-month").fill("10");
    await page.locator("#dob-year").fill("1979");
    await page.getByLabel("Email address", { exact: true }).fill("rate-limit@example.com");
    await page.getByRole("button", { name: /continue/i }).click();
  }
  await expect(page).toHaveURL(/\/connect$/);
  for (let i = 0; i <= 10; i++) {
    await page.goto("/connect/nino");
    await answer(page, "nino", `AB${String(100000 + i)}C`);
  }
  await expect(page).toHaveURL(/\/connect\/too-many-attempts$/);
  await expectHeading(page, "You’ve tried too many times");
  await expect(page.getByText("You can try again in 24 hours", { exact: false })).toBeVisible();
  await expectNoAxeViolations(page);
  await page.getByRole("button", { name: "Get support" }).click();
  await expectHeading(page, "You’ve asked for support");
});

test("pages of the journey need a signed-in person", async ({ page }) => {
  for (const path of ["/record", "/connect/check-answers", "/request-pending"]) {
    await page.goto(path);
    // Sent to sign in, which goes on to One Login.
    await expect(page).toHaveURL(/\/authorize/);
  }
});

test("cannot verify: ask for support with proof of identity, with every bad input first", async ({ page }) => {
  // Someone of the stand-in's own, new each run: the request stays open, and an open request sends its teacher
  // straight to "still looking" at sign-in, which would change what other tests of the cannot-verify persona see.
  const email = `cannot-verify-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
  const teacher: Teacher = { first: "Ann", last: "Lee", email, dob: [28, 2, 1985] };
  await page.goto("/sign-in");
  await pickTeacher(page, teacher, "Signed in (no identity check)");
  await pickTeacher(page, teacher, "Signed in but identity could not be proven");
  await expect(page).toHaveURL(/\/identity-not-verified$/);
  await page.getByRole("button", { name: "Ask for support" }).click();
  await expectHeading(page, "Ask for help to prove your identity");
  await expectNoAxeViolations(page);

  // Nothing filled in.
  await page.getByRole("button", { name: "Continue" }).click();
  await expectErrors(page, ["Enter your full name", "Enter your date of birth", "Select a file that proves your identity"]);
  await expectNoAxeViolations(page);

  // Too long, hostile, impossible and malformed values, and a script dressed as a PDF.
  await page.getByLabel("Full name", { exact: true }).fill("<script>alert('x')</script>");
  await page.getByRole("button", { name: "Add another previous name" }).click();
  await page.getByLabel("Previous name (optional)", { exact: true }).fill("x".repeat(201));
  await page.getByLabel("Day").fill("31");
  await page.getByLabel("Month").fill("2");
  await page.getByLabel("Year").fill("1985");
  await page.getByLabel("National Insurance number (optional)").fill("GB123456A");
  await page.getByLabel("Teacher reference number (TRN) (optional)").fill("0000000");
  await page.getByLabel("Upload proof of your identity").setInputFiles({
    name: "passport.pdf",
    mimeType: "application/pdf",
    buffer: Buffer.from("<script>alert(1)</script>"),
  });
  await page.getByRole("button", { name: "Continue" }).click();
  await expectErrors(page, [
    "Your full name must only include letters, spaces, hyphens, apostrophes and full stops",
    "The previous name must be 200 characters or fewer",
    "Date of birth must be a real date",
    "Enter a National Insurance number in the correct format, like QQ 12 34 56 C",
    "Enter a TRN in the correct format, like 1234567",
    "The selected file must be a PDF, JPG or PNG",
  ]);
  await expect(page.getByLabel("Full name", { exact: true })).toHaveValue("<script>alert('x')</script>");
  await expect(page.getByLabel("Day")).toHaveValue("31");
  await expectNoAxeViolations(page);

  // Put right, with a real PNG.
  await page.getByLabel("Full name", { exact: true }).fill("Ann Lee");
  await page.getByLabel("Previous name (optional)", { exact: true }).fill("Ann Smith");
  await page.getByLabel("Day").fill("28");
  await page.getByLabel("National Insurance number (optional)").fill("");
  await page.getByLabel("Teacher reference number (TRN) (optional)").fill("1234567");
  await page.getByLabel("Upload proof of your identity").setInputFiles({ name: "passport.png", mimeType: "image/png", buffer: PNG });
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(/\/identity-support\/check$/);
  await expectHeading(page, "Check your answers before sending your request");
  for (const shown of ["Ann Lee", "Ann Smith", "28 February 1985", "1234567", "passport.png"]) {
    await expect(page.getByText(shown, { exact: true })).toBeVisible();
  }
  await expectNoAxeViolations(page);
  await page.getByRole("button", { name: "Send request" }).click();
  await expectHeading(page, "You’ve asked for support");
  await expect(page.locator(".govuk-panel__body strong")).toHaveText(/^TRS-\d{6}$/);
});
