// Shared checks and people: an axe scan with the WCAG 2.2 AA rules that must find nothing, the GOV.UK error
// pattern, and the teachers and staff the specs act as (each teacher a new person of the stand-in's own, so no
// other test's connections or requests get in the way).
import { expect, test, type Browser, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";

/**
 * Scans the page with axe. axe runs as JavaScript in the page, so in the no-JavaScript project the page's HTML, as
 * the browser received it, is replayed at the same URL in a JavaScript-enabled page with every script blocked, and
 * scanned there: the markup, styles and fonts are the ones a no-JavaScript visitor gets.
 */
export async function expectNoAxeViolations(page: Page) {
  if (test.info().project.use.javaScriptEnabled === false) {
    const html = await page.content();
    const url = page.url();
    const context = await page.context().browser()!.newContext({ javaScriptEnabled: true });
    try {
      const replay = await context.newPage();
      await replay.route("**/*", (route) => {
        if (route.request().url() === url) return route.fulfill({ body: html, contentType: "text/html; charset=utf-8" });
        if (route.request().resourceType() === "script") return route.abort();
        return route.continue();
      });
      await replay.goto(url);
      await scan(replay);
    } finally {
      await context.close();
    }
    return;
  }
  // With JavaScript, scan the finished page: hydrated, and GOV.UK Frontend started (the body says so).
  await page.locator("body[data-ready]").waitFor({ state: "attached", timeout: 15_000 });
  await scan(page);
}

/**
 * GOV.UK Frontend's radios put `aria-expanded` on a radio that reveals a question, which ARIA does not allow on
 * radios; the Design System keeps it on purpose because screen readers announce it (govuk-frontend issue #979,
 * listed as a known axe issue). Only that exact finding is set aside: any other attribute, or any other element,
 * still fails.
 */
function isKnownRadiosFinding(id: string, html: string): boolean {
  return (
    id === "aria-allowed-attr" &&
    /^<input[^>]*class="govuk-radios__input"/.test(html) &&
    /aria-expanded="(true|false)"/.test(html) &&
    !/aria-(?!expanded|controls)[a-z]+=/.test(html)
  );
}

async function scan(page: Page) {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"])
    .analyze();
  const violations = results.violations
    .map((v) => ({ ...v, nodes: v.nodes.filter((n) => !isKnownRadiosFinding(v.id, n.html)) }))
    .filter((v) => v.nodes.length > 0);
  const summary = violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
  expect(summary, "axe violations").toEqual([]);
}

/** The error summary lists `messages` (in order), each linking to its field, and the title starts "Error: ". */
export async function expectErrors(page: Page, messages: string[]) {
  await expect(page).toHaveTitle(/^Error: /);
  const summary = page.locator(".govuk-error-summary");
  await expect(summary.getByRole("heading", { name: "There is a problem" })).toBeVisible();
  await expect(summary.getByRole("link")).toHaveText(messages);
  for (const message of messages) {
    await expect(page.locator(".govuk-error-message", { hasText: message })).toBeVisible();
  }
}

/** A person of the stand-in's own ("custom" sign-in): their One Login account follows from the email. */
export type Teacher = { first: string; last: string; email: string; dob: [day: number, month: number, year: number] };

/** A surname no other run has: `prefix` and eight random letters. */
export function uniqueName(prefix = "Zz"): string {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  let s = "";
  for (let i = 0; i < 8; i++) s += letters[Math.floor(Math.random() * 26)];
  return prefix + s;
}

/** A new teacher nobody's record matches, with an email that follows from their surname. */
export function newTeacher(first: string, last: string, dob: Teacher["dob"]): Teacher {
  return { first, last, email: `${last.toLowerCase()}@example.com`, dob };
}

/** At the stand-in's picker: sign in as `teacher` with `outcome`. */
export async function pickTeacher(page: Page, teacher: Teacher, outcome: string) {
  await expect(page).toHaveURL(/\/authorize/);
  await page.locator('input[name="persona"][value="custom"]').check();
  await page.getByLabel(outcome, { exact: false }).first().check();
  await page.locator("#first_name").fill(teacher.first);
  await page.locator("#last_name").fill(teacher.last);
  const [day, month, year] = teacher.dob;
  await page.locator("#dob-day").fill(String(day));
  await page.locator("#dob-month").fill(String(month));
  await page.locator("#dob-year").fill(String(year));
  await page.locator("#email").fill(teacher.email);
  await page.getByRole("button", { name: /continue/i }).click();
}

/** Signs in and proves identity as `teacher`: One Login verified them, and nobody matches them, so /connect. */
export async function signInVerified(page: Page, teacher: Teacher) {
  await page.goto("/sign-in");
  await pickTeacher(page, teacher, "Signed in (no identity check)");
  await pickTeacher(page, teacher, "Signed in and identity proven");
  await expect(page).toHaveURL(/\/connect$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("You’ve signed in and verified your identity");
}

/** A teacher nobody can match signs in, proves identity, answers "No" twice and asks for support; the reference. */
export async function teacherAsksForSupport(page: Page, teacher: Teacher): Promise<string> {
  await signInVerified(page, teacher);
  return askForSupportFromConnect(page);
}

/** The rest of the journey from /connect: "No" to both questions, then ask for support; the task's reference. */
export async function askForSupportFromConnect(page: Page): Promise<string> {
  await page.getByRole("button", { name: "Continue" }).click();
  for (const question of ["nino", "trn"]) {
    await expect(page).toHaveURL(new RegExp(`/connect/${question}$`));
    await page.getByRole("group").getByLabel("No", { exact: true }).check();
    await page.getByRole("button", { name: "Continue" }).click();
  }
  await expect(page).toHaveURL(/\/connect\/not-found$/);
  await page.goto("/connect/check-answers");
  await page.getByRole("button", { name: "Get support" }).click();
  await expect(page).toHaveURL(/\/connect\/support-requested$/);
  return (await page.locator("main").innerText()).match(/TRS-\d{6,}/)![0];
}

/** The same in a browser of its own, closed afterwards, for tests whose page is a member of staff's. */
export async function teacherInOwnBrowserAsksForSupport(browser: Browser, baseURL: string, lastName: string) {
  const page = await newPage(browser, baseURL);
  try {
    return await teacherAsksForSupport(page, newTeacher("Robin", lastName, [2, 2, 1962]));
  } finally {
    await page.context().close();
  }
}

/** A page in a new browser context, with JavaScript as the project says. */
export async function newPage(browser: Browser, baseURL: string): Promise<Page> {
  const context = await browser.newContext({ baseURL, javaScriptEnabled: test.info().project.use.javaScriptEnabled });
  return context.newPage();
}

/**
 * Signs in to the console as a stand-in staff persona (`admin` is Ada Adeyemi, `officer` Sam Okafor, also
 * `officer2`, `viewer`, `norole`) and checks the page it lands on.
 */
export async function staffSignIn(page: Page, persona: string, landsOn = "Support tasks") {
  await page.goto("/support/sign-in");
  await expect(page).toHaveURL(/\/authorize/);
  await page.locator(`input[name="persona"][value="${persona}"]`).check();
  await page.getByRole("button", { name: /continue/i }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(landsOn);
}

/** A real PNG (one pixel), for proofs of identity. */
export const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);
