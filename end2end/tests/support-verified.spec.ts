// A teacher One Login cannot verify asks support to check their identity with a proof (issue 10 §1), JavaScript on
// and off: an officer decides, and when the teacher signs in again they are never sent round One Login's identity
// check. Verified and connected → their record; verified, not connected → the record-matching questions; while
// the request is open → "we're still looking"; rejected → try again or send another proof.
// Each test is a new person of the stand-in's own (a "custom" sign-in, whose One Login account follows from the
// email), so no other test's requests or connections get in the way.
import { test, expect, type Page, type Browser } from "@playwright/test";
import { PNG, expectNoAxeViolations, newPage, newTeacher, pickTeacher, staffSignIn, uniqueName, type Teacher } from "./helpers";

test.describe.configure({ timeout: 120_000 });

/** A new teacher of this spec's, born 9 October 1979. */
function someone(): Teacher {
  return newTeacher("Ola", uniqueName("Zv"), [9, 10, 1979]);
}

const standin = `http://127.0.0.1:${Number(process.env.E2E_PORT ?? 3100) + 1}`;

/** The teacher acts: One Login cannot verify them, so they ask support with a PNG proof. The reference. */
async function teacherSendsProof(page: Page, teacher: Teacher): Promise<string> {
  await page.goto("/sign-in");
  await pickTeacher(page, teacher, "Signed in (no identity check)");
  await pickTeacher(page, teacher, "Signed in but identity could not be proven");
  await expect(page).toHaveURL(/\/identity-not-verified$/);
  await page.getByRole("button", { name: "Ask for support" }).click();
  await page.getByLabel("Full name", { exact: true }).fill(`${teacher.first} ${teacher.last}`);
  await page.getByLabel("Day").fill("9");
  await page.getByLabel("Month").fill("10");
  await page.getByLabel("Year").fill("1979");
  await page.getByLabel("Upload proof of your identity").setInputFiles({ name: "passport.png", mimeType: "image/png", buffer: PNG });
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByRole("button", { name: "Send request" }).click();
  return (await page.locator(".govuk-panel__body strong").innerText()).trim();
}

/** The teacher comes back in a fresh browser and signs in: One Login authenticates them, and nothing more. */
async function teacherSignsInAgain(browser: Browser, baseURL: string, teacher: Teacher): Promise<Page> {
  const page = await newPage(browser, baseURL);
  await page.goto("/sign-in");
  await pickTeacher(page, teacher, "Signed in (no identity check)");
  return page;
}

/** The officer opens the task and decides with `choose`, then confirms. */
async function officerDecides(page: Page, reference: string, choose: (page: Page) => Promise<void>) {
  await staffSignIn(page, "officer");
  await page.goto(`/support/tasks/${reference}`);
  await expect(page.getByRole("heading", { name: "Proof of identity" })).toBeVisible();
  await choose(page);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByRole("button", { name: "Confirm decision" }).click();
  await expect(page.locator(".govuk-notification-banner--success")).toContainText(`Task ${reference}`);
}

/**
 * A record no other test connects: the second of the two records the possible-duplicate persona shares its name
 * and date of birth with (its description names both; journeys never connect either, and the console's tests use
 * the cannot-verify persona's record).
 */
async function freeRecordTrn(): Promise<string> {
  const all = (await (await fetch(`${standin}/admin/personas`)).json()) as { id: string; description: string }[];
  const duplicate = all.find((p) => p.id === "possible-duplicate")!;
  return duplicate.description.match(/TRNs \d{7} and (\d{7})/)![1];
}

test("verified and connected by support: the teacher signs in again and sees their record", async ({ page, browser, baseURL }) => {
  const teacher = someone();
  const teacherPage = await newPage(browser, baseURL!);
  const reference = await teacherSendsProof(teacherPage, teacher);
  const trn = await freeRecordTrn();

  await officerDecides(page, reference, async (officer) => {
    await officer.getByLabel("Verify their identity and connect a record", { exact: true }).check();
    await officer.getByLabel("Another record (enter its TRN)").check();
    await officer.getByLabel("TRN", { exact: true }).fill(trn);
  });

  const back = await teacherSignsInAgain(browser, baseURL!, teacher);
  await expect(back).toHaveURL(/\/record$/);
  await expect(back.getByRole("heading", { level: 1 })).toHaveText("Your teaching record");
  await expect(back.getByText(trn, { exact: true })).toBeVisible();
  await expectNoAxeViolations(back);

  // The tab they asked from, left open, shows the record too.
  await teacherPage.goto("/continue");
  await expect(teacherPage).toHaveURL(/\/record$/);
});

test("verified but not connected by support: the teacher signs in again to the record-matching questions", async ({ page, browser, baseURL }) => {
  const teacher = someone();
  const reference = await teacherSendsProof(await newPage(browser, baseURL!), teacher);

  await officerDecides(page, reference, async (officer) => {
    await officer.getByLabel("Verify their identity but do not connect a record", { exact: true }).check();
    await officer.getByLabel("There is no matching teaching record").check();
  });

  const back = await teacherSignsInAgain(browser, baseURL!, teacher);
  await expect(back).toHaveURL(/\/connect$/);
  await expect(back.getByRole("heading", { level: 1 })).toHaveText("You’ve signed in and verified your identity");
  await back.getByRole("button", { name: "Continue" }).click();
  await expect(back.getByRole("heading", { level: 1 })).toHaveText("Do you know your National Insurance number?");
  await expectNoAxeViolations(back);
});

test("rejected by support: still looking while it is open, then try again or send another proof", async ({ page, browser, baseURL }) => {
  const teacher = someone();
  const reference = await teacherSendsProof(await newPage(browser, baseURL!), teacher);

  // Before anyone decides: straight to "still looking", with no identity check.
  const waiting = await teacherSignsInAgain(browser, baseURL!, teacher);
  await expect(waiting).toHaveURL(/\/request-pending$/);
  await expect(waiting.getByRole("heading", { level: 1 })).toHaveText("We’re still looking at your request");
  await expect(waiting.getByText(reference)).toBeVisible();

  await officerDecides(page, reference, async (officer) => {
    await officer.getByLabel("Reject the request").check();
    await officer.getByLabel("The proof of identity is unclear").check();
  });

  const back = await teacherSignsInAgain(browser, baseURL!, teacher);
  await expect(back).toHaveURL(/\/identity-not-verified\?after=support$/);
  await expect(back.getByText("Our support team could not confirm who you are", { exact: false })).toBeVisible();
  await expect(back.getByRole("button", { name: "Try again" })).toBeVisible();
  await expectNoAxeViolations(back);
  await back.getByRole("button", { name: "Ask for support" }).click();
  await expect(back.getByRole("heading", { level: 1 })).toHaveText("Ask for help to prove your identity");
});
