// The support console's fixes from issue 10 (§5, §9), JavaScript on and off where it means something: the decision
// form's reveals after "Back" and "Change" with the pending decision brought back, another officer's changes
// reaching an open dashboard, the filter error and results count for screen readers, "Back to tasks" keeping the
// filters, tables that fit from 320 px to 1280 px, and the search box keeping what was typed.
import { test, expect, type Page } from "@playwright/test";
import { expectErrors, expectNoAxeViolations, staffSignIn, teacherInOwnBrowserAsksForSupport, uniqueName } from "./helpers";

test.describe.configure({ timeout: 120_000 });

const javaScript = () => test.info().project.use.javaScriptEnabled !== false;

/** The page itself never scrolls sideways, and every table fits inside its column. */
async function expectNoSidewaysScroll(page: Page) {
  const widths = await page.evaluate(() => ({
    page: document.documentElement.scrollWidth,
    viewport: document.documentElement.clientWidth,
    tables: Array.from(document.querySelectorAll("main table")).map((t) => ({
      table: Math.ceil(t.getBoundingClientRect().width),
      column: t.parentElement!.clientWidth,
    })),
  }));
  expect(widths.page, "the page is no wider than the window").toBeLessThanOrEqual(widths.viewport);
  for (const t of widths.tables) expect(t.table, "a table is no wider than its column").toBeLessThanOrEqual(t.column);
}

test("the decision's reveals work after Back and Change from the check page, which bring the pending decision back", async ({ page, browser, baseURL }) => {
  const reference = await teacherInOwnBrowserAsksForSupport(browser, baseURL!, uniqueName());
  await staffSignIn(page, "officer");
  await page.goto(`/support/tasks/${reference}`);
  if (javaScript()) await page.locator("body[data-ready]").waitFor({ state: "attached" });
  await page.getByLabel("Do not connect a record").check();
  await page.getByLabel("Another reason").check();
  await page.locator("#reason_detail").fill("The teacher has two records; asked them to call us");
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(/\/check$/);
  // The check page's title names the task.
  await expect(page).toHaveTitle(new RegExp(`Check your decision on task ${reference}`));

  /** The form shows the pending decision, and (with JavaScript) its reveals open and close as radios change. */
  const expectPendingDecisionWithWorkingReveals = async () => {
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(reference);
    await expect(page.getByLabel("Do not connect a record")).toBeChecked();
    await expect(page.getByLabel("Another reason")).toBeChecked();
    await expect(page.locator("#reason_detail")).toHaveValue("The teacher has two records; asked them to call us");
    if (javaScript()) {
      const records = page.locator("#conditional-outcome");
      const reasons = page.locator("#conditional-outcome-2");
      await expect(reasons).toBeVisible();
      await expect(records).toBeHidden();
      await page.getByLabel("Connect a record", { exact: true }).check();
      await expect(records).toBeVisible();
      await expect(reasons).toBeHidden();
      await expect(page.getByLabel("Another record (enter its TRN)")).toBeVisible();
      await page.getByLabel("Do not connect a record").check();
      await expect(reasons).toBeVisible();
      await expect(records).toBeHidden();
    }
    await expectNoAxeViolations(page);
  };

  await page.getByRole("link", { name: "Change decision" }).click();
  await expectPendingDecisionWithWorkingReveals();

  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(/\/check$/);
  await page.getByRole("link", { name: "Back", exact: true }).click();
  await expectPendingDecisionWithWorkingReveals();
});

test("another officer's assignment and decision appear on an open dashboard, and are announced @js-only", async ({ page, browser, baseURL }) => {
  const lastName = uniqueName();
  const reference = await teacherInOwnBrowserAsksForSupport(browser, baseURL!, lastName);
  await staffSignIn(page, "officer");
  await page.goto(`/support?status=all&search=${lastName}`);
  await page.locator("body[data-ready]").waitFor({ state: "attached" });
  const row = page.getByTestId("tasks").getByRole("row").filter({ hasText: reference });
  await expect(row).toContainText("Unassigned");
  // Give the page a moment to open its live feed before the other officer acts.
  await page.waitForTimeout(1_000);

  const other = await browser.newContext({ baseURL, javaScriptEnabled: true });
  const second = await other.newPage();
  await staffSignIn(second, "officer2");
  await second.goto(`/support/tasks/${reference}`);
  await second.getByRole("button", { name: "Assign to me" }).click();
  await expect(second.locator(".govuk-notification-banner--success")).toContainText("assigned to you");

  // No reload: the row changes by itself, and screen readers hear what happened.
  await expect(row).toContainText("Priya Shah", { timeout: 10_000 });
  await expect(row).toContainText("In progress");
  await expect(page.getByTestId("live-announcement")).toContainText(`Task ${reference} has been assigned`);

  await second.goto(`/support/tasks/${reference}`);
  await second.getByLabel("Do not connect a record").check();
  await second.getByLabel("There is no matching teaching record").check();
  await second.getByRole("button", { name: "Continue" }).click();
  await second.getByRole("button", { name: "Confirm decision" }).click();
  await expect(second.locator(".govuk-notification-banner--success")).toContainText(`Task ${reference}`);
  await other.close();

  await expect(row).toContainText("Done", { timeout: 10_000 });
  await expect(page.getByTestId("live-announcement")).toContainText(`Task ${reference} has been decided`);
});

test("a filter error moves the focus to the error summary, and the number of results is announced @js-only", async ({ page, browser, baseURL }) => {
  const lastName = uniqueName();
  const reference = await teacherInOwnBrowserAsksForSupport(browser, baseURL!, lastName);
  await staffSignIn(page, "viewer");
  await page.locator("body[data-ready]").waitFor({ state: "attached" });
  // The count sits in a live region that stays on the page while the results change.
  const count = page.getByTestId("results-count");
  await expect(count).toHaveAttribute("aria-live", "polite");
  const region = await count.elementHandle();

  await page.getByLabel("Search").fill(lastName);
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(page).toHaveURL(new RegExp(`search=${lastName}`));
  await expect(page.getByTestId("task-count")).toHaveText("1 task");
  await expect(page.getByTestId("tasks")).toContainText(reference);
  // The same element: a region added afresh would not be announced.
  expect(await region!.evaluate((el) => el.isConnected)).toBe(true);

  await page.getByLabel("Requested from").fill("31/2/2026");
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expectErrors(page, ["Requested from must be a real date, like 27/3/2026"]);
  await expect(page.locator(".govuk-error-summary")).toBeFocused();
  await expectNoAxeViolations(page);
});

test("Back to tasks, and the page after a decision, return to the list the officer came from", async ({ page, browser, baseURL }) => {
  const lastName = uniqueName();
  const reference = await teacherInOwnBrowserAsksForSupport(browser, baseURL!, lastName);
  await staffSignIn(page, "officer");
  const list = `/support?status=all&search=${lastName}&sort=name&direction=desc`;
  await page.goto(list);
  await page.getByRole("link", { name: reference }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(reference);
  await page.getByRole("link", { name: "Back to tasks" }).click();
  await expect(page).toHaveURL(new RegExp(`/support\\?status=all&search=${lastName}&sort=name&direction=desc$`));
  await expect(page.getByTestId("tasks")).toContainText(reference);

  await page.getByRole("link", { name: reference }).click();
  await page.getByLabel("Do not connect a record").check();
  await page.getByLabel("There is no matching teaching record").check();
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByRole("button", { name: "Confirm decision" }).click();
  await expect(page.locator(".govuk-notification-banner--success")).toContainText(`Task ${reference}`);
  await expect(page).toHaveURL(new RegExp(`/support\\?status=all&search=${lastName}&sort=name&direction=desc$`));
  await expect(page.getByTestId("tasks")).toContainText(reference);
});

test("the task and staff tables fit from 320 px to 1280 px, with no sideways scroll", async ({ page, browser, baseURL }) => {
  const lastName = uniqueName();
  const reference = await teacherInOwnBrowserAsksForSupport(browser, baseURL!, lastName);
  await staffSignIn(page, "admin");
  const shots = process.env.E2E_SCREENSHOTS;
  const project = test.info().project.name;
  for (const width of [320, 375, 640, 768, 1024, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    await page.goto("/support?status=all");
    await expect(page.getByTestId("tasks")).toBeVisible();
    await expectNoSidewaysScroll(page);
    if (shots && (width === 320 || width === 1280)) {
      await page.screenshot({ path: `${shots}/dashboard-${project}-${width}.png`, fullPage: true });
    }
    await page.goto(`/support/tasks/${reference}`);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(reference);
    await expectNoSidewaysScroll(page);
    if (shots && (width === 320 || width === 1280)) {
      await page.screenshot({ path: `${shots}/task-${project}-${width}.png`, fullPage: true });
    }
    await page.goto("/support/staff");
    await expect(page.getByTestId("staff")).toBeVisible();
    await expectNoSidewaysScroll(page);
  }
  // At 320 px the rows are blocks that still say which column each value is from, and pass axe.
  await page.setViewportSize({ width: 320, height: 900 });
  await page.goto(`/support?status=all&search=${lastName}`);
  const headings = page.getByTestId("tasks").getByRole("row").filter({ hasText: reference }).locator(".app-responsive-table__heading");
  await expect(headings).toHaveText(["Reference", "Name", "Type", "Service", "Requested", "Status", "Assigned to"]);
  await expect(headings.last()).toBeVisible();
  await expectNoAxeViolations(page);
  await page.goto("/support/staff");
  await expectNoAxeViolations(page);
});

test("the search box keeps what was typed when the search is refused", async ({ page }) => {
  await staffSignIn(page, "viewer");
  const typed = "a".repeat(90) + " Robinson-Smythe";
  await page.getByLabel("Search").fill(typed);
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expectErrors(page, ["Search must be 100 characters or fewer"]);
  await expect(page.getByLabel("Search")).toHaveValue(typed);
  // The same from a link or a reload.
  await page.reload();
  await expectErrors(page, ["Search must be 100 characters or fewer"]);
  await expect(page.getByLabel("Search")).toHaveValue(typed);
});

test("what is typed and chosen before the page's script has started is kept when it starts @js-only", async ({ page }) => {
  // The dashboard's script is held back until the fields are filled, as on a slow connection.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route("**/*.wasm", async (route) => {
    await held;
    await route.continue();
  });
  await staffSignIn(page, "viewer");
  const typed = "a".repeat(90) + " Robinson-Smythe";
  await page.getByLabel("Search").fill(typed);
  await page.getByLabel("Status").selectOption("all");
  await page.getByLabel("Requested from").fill("1/1/2026");
  release();
  await page.locator("body[data-ready]").waitFor({ state: "attached", timeout: 15_000 });
  await expect(page.getByLabel("Search")).toHaveValue(typed);
  await expect(page.getByLabel("Status")).toHaveValue("all");
  await expect(page.getByLabel("Requested from")).toHaveValue("1/1/2026");
  // The started page sends what was kept.
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expectErrors(page, ["Search must be 100 characters or fewer"]);
  await expect(page).toHaveURL(/status=all/);
  await expect(page).toHaveURL(/from=1%2F1%2F2026/);
  await expect(page.getByLabel("Search")).toHaveValue(typed);
});
