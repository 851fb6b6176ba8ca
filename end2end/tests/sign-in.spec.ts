// Signing in with GOV.UK One Login through the stand-in's persona picker, as a person would: sign in, prove
// identity, sign out; and every failure outcome the picker offers lands on its page. JavaScript on and off.
import { test, expect, type Page } from "@playwright/test";
import { expectNoAxeViolations } from "./helpers";

/** At the stand-in's picker: choose a persona and an outcome, and continue. */
async function pick(page: Page, persona: string, outcome?: string) {
  await expect(page).toHaveURL(/\/authorize/);
  await page.getByLabel(persona, { exact: false }).first().check();
  if (outcome) await page.getByLabel(outcome, { exact: false }).first().check();
  await page.getByRole("button", { name: /continue/i }).click();
}

test("sign in, prove identity and sign out", async ({ page }) => {
  // Each project has its own service and database, so both can sign in as the same person.
  const persona = "(name-changed)";
  await page.goto("/");
  await page.getByRole("button", { name: "Start now" }).click();
  await pick(page, persona, "Signed in (no identity check)");
  await pick(page, persona, "Signed in and identity proven");
  await expect(page).toHaveURL(/\/connect$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("You’ve signed in and verified your identity");
  await expect(page.getByRole("link", { name: "Sign out" })).toBeVisible();
  await expectNoAxeViolations(page);
  await page.getByRole("link", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signed-out\/done$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("You have signed out");
  await expectNoAxeViolations(page);
  await page.goto("/connect");
  await expect(page).not.toHaveURL(/\/connect$/);
});

test("cannot verify: the person is told and offered another try", async ({ page }) => {
  await page.goto("/sign-in");
  await pick(page, "(cannot-verify)", "Signed in (no identity check)");
  await pick(page, "(cannot-verify)", "Signed in but identity could not be proven");
  await expect(page).toHaveURL(/\/identity-not-verified$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("We could not verify your identity");
  await expect(page.getByRole("button", { name: "Try again" })).toBeVisible();
  await expectNoAxeViolations(page);
});

const failures: [string, string][] = [
  ["User cancels (access_denied)", "You did not finish signing in"],
  ["One Login is unavailable (temporarily_unavailable)", "Sorry, there is a problem with the service"],
  ["Login required (login_required)", "You have been signed out"],
  ["Service deactivated (unauthorized_client)", "You cannot use this service at the moment"],
];

for (const [outcome, heading] of failures) {
  test(`the ${outcome} outcome has its own page`, async ({ page }) => {
    await page.goto("/sign-in");
    await pick(page, "(exact-match)", outcome);
    await expect(page).toHaveURL(/\/sign-in\/problem\//);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(heading);
    await expectNoAxeViolations(page);
  });
}

test("a forged callback is refused", async ({ page }) => {
  await page.goto("/auth/callback?code=forged&state=forged");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Your sign-in has expired");
  await expectNoAxeViolations(page);
});
