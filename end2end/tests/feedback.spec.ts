// The feedback form: the pattern every form in the service follows. Empty, too long, malformed and hostile input
// each give the GOV.UK error summary and inline errors, keep what was typed, and never a 500.
import { test, expect } from "@playwright/test";
import { expectErrors, expectNoAxeViolations } from "./helpers";

test("valid feedback is sent and confirmed", async ({ page }) => {
  await page.goto("/feedback");
  await page.getByLabel("Satisfied", { exact: true }).check();
  await page.getByLabel("How could we improve this service?").fill("It was quick and clear.");
  await page.getByRole("button", { name: "Send feedback" }).click();
  await expect(page).toHaveURL(/\/feedback\/sent$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Feedback sent");
  await expectNoAxeViolations(page);
});

test("an empty form shows both errors, linked to their fields", async ({ page }) => {
  await page.goto("/feedback");
  await page.getByRole("button", { name: "Send feedback" }).click();
  await expectErrors(page, ["Select how you feel about this service", "Enter how we could improve this service"]);
  await page.getByRole("link", { name: "Enter how we could improve this service" }).click();
  await expect(page.getByLabel("How could we improve this service?")).toBeFocused();
  await expectNoAxeViolations(page);
});

test("whitespace only counts as empty, and the choice made is kept", async ({ page }) => {
  await page.goto("/feedback");
  await page.getByLabel("Dissatisfied", { exact: true }).check();
  await page.getByLabel("How could we improve this service?").fill("     ");
  await page.getByRole("button", { name: "Send feedback" }).click();
  await expectErrors(page, ["Enter how we could improve this service"]);
  await expect(page.getByLabel("Dissatisfied", { exact: true })).toBeChecked();
});

test("too long feedback is refused and the text is kept", async ({ page }) => {
  const long = "a".repeat(1201);
  await page.goto("/feedback");
  await page.getByLabel("Neither satisfied nor dissatisfied").check();
  await page.getByLabel("How could we improve this service?").fill(long);
  await page.getByRole("button", { name: "Send feedback" }).click();
  await expectErrors(page, ["How we could improve this service must be 1200 characters or fewer"]);
  await expect(page.getByLabel("How could we improve this service?")).toHaveValue(long);
  await expectNoAxeViolations(page);
});

test("control characters are removed and the rest is sent (DESIGN §4 free text)", async ({ page }) => {
  await page.goto("/feedback");
  await page.getByLabel("Satisfied", { exact: true }).check();
  await page.getByLabel("How could we improve this service?").fill("bell \u0007 here");
  await page.getByRole("button", { name: "Send feedback" }).click();
  await expect(page).toHaveURL(/\/feedback\/sent$/);
});

test("text made only of control characters counts as empty", async ({ page }) => {
  await page.goto("/feedback");
  await page.getByLabel("Satisfied", { exact: true }).check();
  await page.getByLabel("How could we improve this service?").fill("\u0007\u0008");
  await page.getByRole("button", { name: "Send feedback" }).click();
  await expectErrors(page, ["Enter how we could improve this service"]);
});

test("hostile input is kept as text and never runs", async ({ page }) => {
  let dialogs = 0;
  page.on("dialog", async (d) => {
    dialogs += 1;
    await d.dismiss();
  });
  const hostile = `</textarea><script>alert(1)</script><img src=x onerror=alert(2)>' OR 1=1 --`;
  await page.goto("/feedback");
  await page.getByLabel("How could we improve this service?").fill(hostile);
  await page.getByRole("button", { name: "Send feedback" }).click();
  await expectErrors(page, ["Select how you feel about this service"]);
  await expect(page.getByLabel("How could we improve this service?")).toHaveValue(hostile);
  expect(dialogs).toBe(0);
  await page.getByLabel("Very satisfied").check();
  await page.getByRole("button", { name: "Send feedback" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Feedback sent");
  expect(dialogs).toBe(0);
});

test("a form posted without its CSRF token is refused with a GOV.UK page", async ({ page, request }) => {
  const response = await request.post("/feedback", { form: { satisfaction: "satisfied", details: "x" } });
  expect(response.status()).toBe(403);
  expect(await response.text()).toContain("Sorry, we could not accept your form");
});
