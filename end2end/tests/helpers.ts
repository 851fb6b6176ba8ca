// Shared checks: an axe scan with the WCAG 2.2 AA rules that must find nothing, and the GOV.UK error pattern.
import { expect, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";

export async function expectNoAxeViolations(page: Page) {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"])
    .analyze();
  const summary = results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
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
