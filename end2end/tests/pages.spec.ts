// The GOV.UK template, the start page and the footer pages, with accessibility checks on each.
import { test, expect } from "@playwright/test";
import { expectNoAxeViolations } from "./helpers";

const pages = [
  { path: "/", heading: "Access your teaching record" },
  { path: "/accessibility", heading: "Accessibility statement for Teacher ID" },
  { path: "/cookies", heading: "Cookies" },
  { path: "/privacy", heading: "Privacy notice" },
  { path: "/feedback", heading: "Give feedback on Teacher ID" },
];

for (const { path, heading } of pages) {
  test(`${path} renders in the GOV.UK template and passes axe`, async ({ page }) => {
    const response = await page.goto(path);
    expect(response?.status()).toBe(200);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(heading);
    await expect(page).toHaveTitle(`${heading} – Teacher ID – GOV.UK`);
    await expect(page.getByRole("link", { name: "Skip to main content" })).toBeAttached();
    await expect(page.getByRole("link", { name: "Teacher ID" })).toBeVisible();
    await expect(page.locator(".govuk-phase-banner")).toContainText("Beta");
    const footer = page.getByRole("contentinfo");
    for (const link of ["Accessibility statement", "Cookies", "Privacy"]) {
      await expect(footer.getByRole("link", { name: link })).toBeVisible();
    }
    await expectNoAxeViolations(page);
  });
}

test("styles and GOV.UK fonts load", async ({ page }) => {
  await page.goto("/");
  const font = await page.getByRole("heading", { level: 1 }).evaluate((el) => getComputedStyle(el).fontFamily);
  expect(font).toContain("GDS Transport");
  const marginTop = await page.locator(".govuk-width-container").first().evaluate((el) => getComputedStyle(el).maxWidth);
  expect(marginTop).toBe("960px");
  await page.evaluate(() => document.fonts.ready);
  const loaded = await page.evaluate(() => [...document.fonts].some((f) => f.family.includes("GDS Transport") && f.status === "loaded"));
  expect(loaded).toBe(true);
});

test("the page hydrates and GOV.UK Frontend starts @js-only", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto("/feedback");
  await expect(page.locator("body")).toHaveClass(/js-enabled/);
  await expect(page.locator("body")).toHaveClass(/govuk-frontend-supported/);
  // The character count is drawn by GOV.UK Frontend's JavaScript once it has started.
  await expect(page.locator(".govuk-character-count__status")).toHaveText(/You have 1,200 characters remaining/);
  expect(errors).toEqual([]);
});

test("without JavaScript the page still works @no-js-only", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator("body")).not.toHaveClass(/js-enabled/);
  await page.getByRole("link", { name: "give your feedback" }).click();
  await expect(page).toHaveURL(/\/feedback$/);
});

test("unknown pages say Page not found with a 404 and pass axe", async ({ page }) => {
  const response = await page.goto("/no-such-page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Page not found");
  await expect(page).toHaveTitle("Page not found – Teacher ID – GOV.UK");
  await expectNoAxeViolations(page);
});

// One test per page: five axe scans without JavaScript (each a replay) came close to one test's 30 seconds.
for (const status of [400, 403, 413, 500, 503]) {
  test(`the ${status} error page passes axe`, async ({ page }) => {
    const response = await page.goto(`/problem/${status}`);
    expect(response?.status()).toBe(status);
    await expect(page.getByRole("heading", { level: 1 })).not.toBeEmpty();
    await expectNoAxeViolations(page);
  });
}

test("a service's sign-in request we cannot trust gets a page about that service, with a 400, and passes axe", async ({
  page,
}) => {
  const response = await page.goto(
    "/oauth2/authorize?client_id=nobody&redirect_uri=https%3A%2F%2Fevil.example%2Fcallback&response_type=code",
  );
  expect(response?.status()).toBe(400);
  expect(page.url()).toContain("/oauth2/authorize");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(
    "Sorry, there is a problem with the service you came from",
  );
  await expect(page.locator(".govuk-back-link")).toHaveCount(0);
  await expectNoAxeViolations(page);
});
