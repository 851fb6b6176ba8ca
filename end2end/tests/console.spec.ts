// The support console (DESIGN §6) as staff use it, JavaScript on and off, with axe on every page: signing in with
// each role, access denied for lesser roles, the dashboard's filters, search, sort and paging in the URL, a
// teacher's request arriving live (JavaScript), deciding a task with its email in the development mailbox, and a
// second officer deciding the same task.
import { test, expect, type Page, type Browser } from "@playwright/test";
import { expectErrors, expectNoAxeViolations, PNG, pickTeacher, newTeacher, staffSignIn, teacherInOwnBrowserAsksForSupport, uniqueName } from "./helpers";

test.describe.configure({ timeout: 120_000 });

const standin = `http://127.0.0.1:${Number(process.env.E2E_PORT ?? 3100) + 1}`;

/** The TRN of the record a stand-in persona was drawn from. */
async function trnOf(persona: string): Promise<string> {
  const all = (await (await fetch(`${standin}/admin/personas`)).json()) as { id: string; trn_hint: string | null }[];
  return all.find((p) => p.id === persona)!.trn_hint!;
}

/** Someone One Login cannot verify asks for support with a proof of identity (a PNG). */
async function teacherSendsProof(browser: Browser, baseURL: string, lastName: string): Promise<string> {
  const context = await browser.newContext({ baseURL, javaScriptEnabled: test.info().project.use.javaScriptEnabled });
  const page = await context.newPage();
  const teacher = newTeacher("Sam", lastName, [9, 9, 1979]);
  await page.goto("/sign-in");
  await pickTeacher(page, teacher, "Signed in (no identity check)");
  await pickTeacher(page, teacher, "Signed in but identity could not be proven");
  await page.getByRole("button", { name: "Ask for support" }).click();
  await page.getByLabel("Full name", { exact: true }).fill(`Sam ${lastName}`);
  await page.getByLabel("Day").fill("9");
  await page.getByLabel("Month").fill("9");
  await page.getByLabel("Year").fill("1979");
  await page.getByLabel("Upload proof of your identity").setInputFiles({ name: "passport.png", mimeType: "image/png", buffer: PNG });
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByRole("button", { name: "Send request" }).click();
  const reference = (await page.locator(".govuk-panel__body strong").innerText()).trim();
  await context.close();
  return reference;
}

test("staff without a role, and every lesser role, are denied", async ({ page }) => {
  await page.goto("/support");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(/Sign in to the support console|Sign in/);

  await staffSignIn(page, "norole", "You do not have access to this page");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("You do not have access to this page");
  await expect(page.getByRole("table")).toHaveCount(0);
  await expectNoAxeViolations(page);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/support\/signed-out$/);

  await staffSignIn(page, "viewer");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Support tasks");
  await expect(page.getByRole("link", { name: "Staff" })).toHaveCount(0);
  for (const path of ["/support/staff", "/support/audit"]) {
    await page.goto(path);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("You do not have access to this page");
  }
  await page.goto("/support");
  await page.getByRole("button", { name: "Sign out" }).click();

  await staffSignIn(page, "admin");
  await page.getByRole("link", { name: "Staff" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Staff");
  await expectNoAxeViolations(page);
  await page.getByRole("link", { name: "Audit log" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Audit log");
  await expect(page.getByTestId("audit")).toContainText("Signed in");
  await expectNoAxeViolations(page);
});

test("the dashboard's filters, search, sort and paging live in the URL", async ({ page, browser, baseURL }) => {
  const lastName = uniqueName();
  const reference = await teacherInOwnBrowserAsksForSupport(browser, baseURL!, lastName);
  await staffSignIn(page, "officer");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Support tasks");
  await expectNoAxeViolations(page);

  // Search by name: the URL says so, and a shared link shows the same list.
  await page.getByLabel("Search").fill(lastName);
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(page).toHaveURL(new RegExp(`search=${lastName}`));
  await expect(page.getByTestId("tasks")).toContainText(reference);
  await expect(page.getByTestId("task-count")).toHaveText("1 task");
  const shared = page.url();
  await page.goto("/support?status=done");
  await page.goto(shared);
  await expect(page.getByTestId("tasks")).toContainText(reference);

  // Sort by name, then the other way; aria-sort says which.
  await page.goto("/support?status=all");
  await page.getByRole("link", { name: "Name" }).click();
  await expect(page).toHaveURL(/sort=name/);
  await expect(page.locator('th[aria-sort="ascending"]')).toHaveText("Name");
  await page.getByRole("link", { name: "Name" }).click();
  await expect(page).toHaveURL(/direction=desc/);
  await expect(page.locator('th[aria-sort="descending"]')).toHaveText("Name");
  // The back button returns to the previous sort.
  await page.goBack();
  await expect(page.locator('th[aria-sort="ascending"]')).toHaveText("Name");

  // A bad date gets a GOV.UK error, and the rest of the filters still apply.
  await page.goto(`/support?search=${lastName}&from=31/2/2026`);
  await expectErrors(page, ["Requested from must be a real date, like 27/3/2026"]);
  await expect(page.getByTestId("tasks")).toContainText(reference);
  await expectNoAxeViolations(page);
});

test("searching as you type updates the list in place and keeps the search box's focus @js-only", async ({ page, browser, baseURL }) => {
  const lastName = uniqueName();
  const reference = await teacherInOwnBrowserAsksForSupport(browser, baseURL!, lastName);
  await staffSignIn(page, "viewer");
  await page.locator("body[data-ready]").waitFor({ state: "attached" });
  // A mark on this document: a page load would lose it.
  await page.evaluate(() => ((window as unknown as { stillHere: boolean }).stillHere = true));
  const search = page.getByLabel("Search");
  await search.click();
  await search.pressSequentially(lastName, { delay: 60 });
  // After a pause the list follows the URL, with no page load: the box still has focus and everything typed.
  await expect(page).toHaveURL(new RegExp(`search=${lastName}`));
  await expect(page.getByTestId("tasks")).toContainText(reference);
  await expect(page.getByTestId("task-count")).toHaveText("1 task");
  await expect(search).toBeFocused();
  await expect(search).toHaveValue(lastName);
  expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
});

test("a new request appears live on an open dashboard @js-only", async ({ page, browser, baseURL }) => {
  await staffSignIn(page, "officer");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Support tasks");
  await page.locator("body[data-ready]").waitFor({ state: "attached" });
  await page.goto("/support?status=all&sort=requested&direction=desc");
  await page.locator("body[data-ready]").waitFor({ state: "attached" });
  const reference = await teacherInOwnBrowserAsksForSupport(browser, baseURL!, uniqueName());
  // No reload: the row arrives by server-sent event, and screen readers hear about it.
  await expect(page.getByTestId("tasks")).toContainText(reference, { timeout: 10_000 });
  await expect(page.getByTestId("live-announcement")).toContainText("A new support task has arrived");
});

test("an officer decides a task: check, confirm, banner, email; a second officer is told it is decided", async ({ page, browser, baseURL }) => {
  const lastName = uniqueName();
  const reference = await teacherInOwnBrowserAsksForSupport(browser, baseURL!, lastName);

  // A second officer opens the same task first and chooses, but does not confirm yet.
  const other = await browser.newContext({ baseURL, javaScriptEnabled: test.info().project.use.javaScriptEnabled });
  const second = await other.newPage();
  await staffSignIn(second, "officer2");
  await second.goto(`/support/tasks/${reference}`);

  await staffSignIn(page, "officer");
  await page.goto(`/support/tasks/${reference}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(reference);
  await expect(page.getByRole("heading", { name: "What GOV.UK One Login gave us" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Additional information" })).toBeVisible();
  await expectNoAxeViolations(page);

  // Nothing chosen: an error, nothing lost.
  await page.getByRole("button", { name: "Continue" }).click();
  await expectErrors(page, ["Select a decision"]);
  await expectNoAxeViolations(page);

  await page.getByLabel("Do not connect a record").check();
  await page.getByLabel("There is no matching teaching record").check();
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(/\/check$/);
  await expect(page.getByTestId("pending-decision")).toHaveText("Not connected: There is no matching teaching record");
  await expectNoAxeViolations(page);
  await page.getByRole("button", { name: "Confirm decision" }).click();
  await expect(page).toHaveURL(/\/support$/);
  await expect(page.locator(".govuk-notification-banner--success")).toContainText(`Task ${reference}`);
  await expectNoAxeViolations(page);

  // The second officer's decision is refused, clearly.
  await second.getByLabel("Do not connect a record").check();
  await second.getByLabel("There is no matching teaching record").check();
  await second.getByRole("button", { name: "Continue" }).click();
  await second.getByRole("button", { name: "Confirm decision" }).click();
  await expect(second.locator(".govuk-error-summary")).toContainText("This task has already been decided by Sam Okafor");
  await other.close();

  // The teacher's email, in the development mailbox.
  await page.goto("/dev/mailbox");
  const email = page.getByTestId("email").filter({ hasText: reference });
  await expect(email).toHaveCount(1);
  await expect(email).toContainText("We could not connect your teaching record");
  await expect(email).toContainText("There is no matching teaching record");
  await expectNoAxeViolations(page);
});

test("an officer connects a record: the change history names them, and the teacher is emailed", async ({ page, browser, baseURL }) => {
  const reference = await teacherInOwnBrowserAsksForSupport(browser, baseURL!, uniqueName());
  // A record nobody else connects in these tests: the one the cannot-verify persona was drawn from.
  const trn = await trnOf("cannot-verify");
  await staffSignIn(page, "officer");
  await page.goto(`/support/tasks/${reference}`);
  await page.getByLabel("Connect a record", { exact: true }).check();
  await page.getByLabel("Another record (enter its TRN)").check();
  await page.getByLabel("TRN", { exact: true }).fill(trn);
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByTestId("pending-decision")).toHaveText(`Connected to the record with TRN ${trn}`);
  await page.getByRole("button", { name: "Confirm decision" }).click();
  await expect(page.locator(".govuk-notification-banner--success")).toContainText(`Task ${reference}`);

  await page.goto(`/support/tasks/${reference}`);
  await expect(page.getByTestId("history")).toContainText("connected by Sam Okafor");
  await expect(page.getByTestId("history")).toContainText(reference);
  await expectNoAxeViolations(page);
  await page.goto("/dev/mailbox");
  await expect(page.getByTestId("email").filter({ hasText: reference })).toContainText("You can now access your teaching record");
});

test("an officer rejects a proof of identity with their own words, and the teacher is told why", async ({ page, browser, baseURL }) => {
  const reference = await teacherSendsProof(browser, baseURL!, uniqueName());
  await staffSignIn(page, "officer");
  await page.goto(`/support/tasks/${reference}`);
  await expect(page.getByRole("heading", { name: "Proof of identity" })).toBeVisible();
  await expect(page.getByRole("img", { name: "Proof of identity sent by the teacher" })).toBeVisible();
  await expectNoAxeViolations(page);

  await page.getByLabel("Reject the request").check();
  await page.getByLabel("Another reason").last().check();
  await page.getByRole("button", { name: "Continue" }).click();
  await expectErrors(page, ["Enter the reason"]);
  await page.getByLabel("Reject the request").check();
  await page.getByLabel("Another reason").last().check();
  await page.locator("#reject_reason_detail").fill("The photo is of a <b>different</b> person");
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByTestId("pending-decision")).toHaveText("Rejected: Another reason");
  await page.getByRole("button", { name: "Confirm decision" }).click();
  await expect(page.locator(".govuk-notification-banner--success")).toContainText(`Task ${reference}`);

  await page.goto("/dev/mailbox");
  const email = page.getByTestId("email").filter({ hasText: reference });
  await expect(email).toContainText("We could not check your identity");
  await expect(email).toContainText("The photo is of a <b>different</b> person");
});
