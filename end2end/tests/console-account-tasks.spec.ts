// The support console's third task kind (issue 13 §5, DESIGN §7.3) in the browser, JavaScript on and off, with axe
// on each page. A DfE Identity account made through the sample NPQ answers "No" to every record question, so support
// gets an account-record-matching task; an officer finds it on the dashboard (its kind's filter, a search, the
// counts), opens it and decides: a TRN from the record picker (suggestions with field marks), "no TRN", or a merge
// into another account. Each decision is in the record's change history or the audit log, and the account holder's
// email (in the development mailbox) speaks of their account. With JavaScript another officer's open dashboard sees
// the decision arrive. The account holder then signs in again and sees the outcome; an administrator then
// disconnects the record assigned, in the account's words, and the holder is asked the record questions again.
import { test, expect, type Browser, type Page } from "@playwright/test";
import { expectNoAxeViolations, newPage, staffSignIn, uniqueName } from "./helpers";
import {
  npq,
  applicant,
  clickContinue,
  codeFor,
  createAccount,
  dobOf,
  enterCode,
  expectHeading,
  findRecordWith,
  mailbox,
  persona,
  type Applicant,
} from "./account-helpers";

test.describe.configure({ timeout: 180_000 });

const js = () => test.info().project.use.javaScriptEnabled !== false;

/** `who` makes an account at NPQ, answers "No" to every record question and is left waiting; the task's reference. */
async function accountAsksSupport(browser: Browser, baseURL: string, mail: Page, who: Applicant): Promise<string> {
  const page = await newPage(browser, baseURL);
  try {
    await createAccount(page, mail, who);
    await findRecordWith(page, null);
    await expectHeading(page, "We’re still looking at your request");
    return (await page.locator("main").innerText()).match(/TRS-\d{6,}/)![0];
  } finally {
    await page.context().close();
  }
}

/** In a new browser, `email` signs in to their account from NPQ's start; the page after the code. */
async function signInAgain(browser: Browser, baseURL: string, mail: Page, email: string): Promise<Page> {
  const page = await newPage(browser, baseURL);
  await page.goto(npq());
  await page.getByRole("link", { name: "Start now" }).click();
  await page.getByRole("button", { name: "Sign in with a DfE Identity account" }).click();
  await page.getByLabel("Email address").fill(email);
  await clickContinue(page);
  await expectHeading(page, "Check your email");
  await enterCode(page, await codeFor(mail, "email", email));
  return page;
}

/** The task's page, as an officer sees it before deciding: the account's rows, not One Login's. */
async function openTask(page: Page, reference: string) {
  await page.goto(`/support/tasks/${reference}`);
  await expectHeading(page, reference);
  await expect(page.locator(".govuk-caption-l").first()).toHaveText("Account record matching");
  await expect(page.getByRole("heading", { name: "Their DfE Identity account" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "What GOV.UK One Login gave us" })).toHaveCount(0);
  await expect(page.locator("main")).toContainText("Not verified: DfE Identity account");
  await expectNoAxeViolations(page);
}

/** "Continue", the check page saying `pending`, and "Confirm decision": back on the dashboard with a banner. */
async function confirmDecision(page: Page, reference: string, pending: string | RegExp) {
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(/\/check$/);
  await expect(page.getByTestId("pending-decision")).toHaveText(pending);
  await expectNoAxeViolations(page);
  await page.getByRole("button", { name: "Confirm decision" }).click();
  await expect(page.locator(".govuk-notification-banner--success")).toContainText(`Task ${reference}`);
  await expectNoAxeViolations(page);
}

/** The one email in the development mailbox with `reference` in it (read by the administrator on `mail`). */
async function emailAbout(mail: Page, reference: string) {
  await mail.goto("/dev/mailbox");
  const email = mail.getByTestId("email").filter({ hasText: reference });
  await expect(email).toHaveCount(1);
  await expect(email).toContainText("DfE Identity account");
  await expect(email).not.toContainText("One Login");
  return email;
}

/** The audit log has the officer's decision on `reference`. */
async function expectAudited(mail: Page, reference: string) {
  await mail.goto("/support/audit");
  const row = mail.getByTestId("audit").getByRole("row").filter({ hasText: reference });
  await expect(row.filter({ hasText: "Sam Okafor" }).first()).toBeVisible();
  await expectNoAxeViolations(mail);
}

test("the dashboard filters account tasks, searches and counts them; 'no TRN' is audited and emailed, and the holder is told at sign-in", async ({
  page,
  browser,
  baseURL,
}) => {
  const mail = await mailbox(browser, baseURL!);
  const who = applicant("Robin", uniqueName("Acct"), ["9", "9", "1979"]);
  const reference = await accountAsksSupport(browser, baseURL!, mail, who);

  await staffSignIn(page, "officer");
  await expectNoAxeViolations(page);
  // Filter by the account kind and search by the name: one task, counted under "Open".
  await page.getByLabel("Type", { exact: true }).selectOption({ label: "Account record matching" });
  await page.getByLabel("Search", { exact: true }).fill(who.last);
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(page).toHaveURL(/type=account_record_matching/);
  await expect(page).toHaveURL(new RegExp(`search=${who.last}`));
  await expect(page.getByTestId("tasks")).toContainText(reference);
  await expect(page.getByTestId("tasks")).toContainText("Account record matching");
  await expect(page.getByTestId("task-count")).toHaveText("1 task");
  const status = page.getByLabel("Status", { exact: true });
  await expect(status.locator("option", { hasText: /^Open \(1\)$/ })).toHaveCount(1);
  await expect(status.locator("option", { hasText: /^Done \(0\)$/ })).toHaveCount(1);
  await expectNoAxeViolations(page);
  // Another kind's filter does not list it.
  await page.goto(`/support?type=record_matching&status=all&search=${who.last}`);
  await expect(page.getByTestId("task-count")).toHaveText("0 tasks");
  await page.goto(`/support?type=account_record_matching&status=all&search=${who.last}`);

  await page.getByTestId("tasks").getByRole("link", { name: reference }).click();
  await openTask(page, reference);
  await expect(page.locator("main")).toContainText(who.email);
  await page.getByLabel("No TRN: they do not have a teaching record").check();
  await page.getByLabel("There is no matching teaching record").check();
  await confirmDecision(page, reference, "No TRN: There is no matching teaching record");

  const email = await emailAbout(mail, reference);
  await expect(email).toContainText(`To ${who.email}`);
  await expect(email).toContainText("We could not find your teaching record");
  await expect(email).toContainText("We could not find a teaching record for your DfE Identity account.");
  await expect(email).toContainText("There is no matching teaching record");
  await expectAudited(mail, reference);

  // Signing in again, they are told, rather than asked the questions again.
  const again = await signInAgain(browser, baseURL!, mail, who.email);
  await expect(again).toHaveURL(/\/account\/no-record$/);
  await expectHeading(again, "We could not find your teaching record");
  await expectNoAxeViolations(again);
  await again.context().close();
  await mail.context().close();
});

test("an officer assigns a TRN from the suggested records: history, email, another officer's dashboard, the holder back at the service with it; an administrator then disconnects it", async ({
  page,
  browser,
  baseURL,
}) => {
  const mail = await mailbox(browser, baseURL!);
  // Two records share this persona's name and date of birth, so the account's answers find neither on their own;
  // no journey connects the first of them (support-verified.spec takes the second).
  const p = await persona("possible-duplicate");
  const [first, second] = (p as unknown as { description: string }).description.match(/TRNs (\d{7}) and (\d{7})/)!.slice(1);
  const who = applicant(p.first_name, p.last_name, dobOf(p));
  const reference = await accountAsksSupport(browser, baseURL!, mail, who);

  // With JavaScript, a second officer watches the account tasks on their dashboard.
  let watcher: Page | undefined;
  if (js()) {
    watcher = await newPage(browser, baseURL!);
    await staffSignIn(watcher, "officer2");
    await watcher.goto(`/support?type=account_record_matching&status=all&search=${encodeURIComponent(who.last)}`);
    await watcher.locator("body[data-ready]").waitFor({ state: "attached" });
    await expect(watcher.getByTestId("tasks").getByRole("row").filter({ hasText: reference })).toContainText("Open");
    // Give the page a moment to open its live feed before the other officer acts.
    await watcher.waitForTimeout(1_000);
    // Every announcement, kept: other tests decide tasks at the same time, and each announcement replaces the last.
    await watcher.evaluate(() => {
      const region = document.querySelector('[data-testid="live-announcement"]')!;
      const seen: string[] = [];
      (window as unknown as { announced: string[] }).announced = seen;
      new MutationObserver(() => seen.push(region.textContent ?? "")).observe(region, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
  }

  await staffSignIn(page, "officer");
  await openTask(page, reference);
  // The picker's suggestions, each field marked against what the account holder typed.
  const cards = page.getByTestId("suggested-record");
  for (const trn of [first, second]) {
    const card = cards.filter({ hasText: `TRN ${trn}` });
    await expect(card).toHaveCount(1);
    await expect(card).toContainText("Matches");
  }
  await page.getByLabel("Assign a TRN").check();
  await page.getByRole("radio", { name: new RegExp(`TRN ${first}$`) }).check();
  await confirmDecision(page, reference, `TRN ${first} assigned to the account`);

  // The record's change history names the officer and the task.
  await page.goto(`/support/tasks/${reference}`);
  await expect(page.getByTestId("history")).toContainText(`by Sam Okafor (support task ${reference})`);
  await expectNoAxeViolations(page);

  if (watcher) {
    const row = watcher.getByTestId("tasks").getByRole("row").filter({ hasText: reference });
    await expect(row).toContainText("Done", { timeout: 10_000 });
    await expect
      .poll(() => watcher!.evaluate(() => (window as unknown as { announced: string[] }).announced))
      .toContainEqual(expect.stringContaining(`Task ${reference} has been decided`));
    await watcher.context().close();
  }

  const email = await emailAbout(mail, reference);
  await expect(email).toContainText(`To ${who.email}`);
  await expect(email).toContainText("We have found your teaching record");
  await expect(email).toContainText("linked it to your DfE Identity account");
  await expectAudited(mail, reference);

  // Signing in again, they go straight back to the service, with the TRN.
  const again = await signInAgain(browser, baseURL!, mail, who.email);
  await expectHeading(again, "You are signed in");
  await expect(again.locator("body")).toContainText(first);
  await again.context().close();

  // An administrator then undoes the connection with a reason: the form, the check, the banner, the history and
  // the email all name the account, not One Login; at their next sign-in the holder is asked the questions again.
  const reason = "Assigned to the wrong person";
  await mail.goto(`/support/tasks/${reference}`);
  const disconnect = mail.locator("#disconnect");
  await expect(disconnect).toContainText("This teacher’s DfE Identity account is connected to the record of");
  await disconnect.getByLabel("Why are you disconnecting the record? The teacher will be sent this").fill(reason);
  await disconnect.getByRole("button", { name: "Continue" }).click();
  await expect(mail.getByTestId("disconnect-check")).toContainText("DfE Identity account");
  await expect(mail.getByTestId("disconnect-check")).not.toContainText("One Login");
  await expectNoAxeViolations(mail);
  await mail.getByRole("button", { name: "Disconnect the record" }).click();
  await expect(mail.locator(".govuk-notification-banner--success")).toContainText(
    `The record with TRN ${first} is no longer connected to the teacher’s DfE Identity account`,
  );
  await expect(mail.getByTestId("history")).toContainText(
    `DfE Identity account ${who.email} disconnected by Ada Adeyemi (support task ${reference}): ${reason}`,
  );
  await expectNoAxeViolations(mail);
  await mail.goto("/dev/mailbox");
  const removed = mail.getByTestId("email").filter({ hasText: reference }).filter({ hasText: "We have removed your teaching record" });
  await expect(removed).toHaveCount(1);
  await expect(removed).toContainText(`To ${who.email}`);
  await expect(removed).toContainText(reason);
  await expect(removed).not.toContainText("One Login");
  const afterwards = await signInAgain(browser, baseURL!, mail, who.email);
  await expectHeading(afterwards, "We need to find your teaching record");
  await afterwards.context().close();
  await mail.context().close();
});

test("an officer merges an account into another one: the kept account's email is told, and the merge is audited", async ({
  page,
  browser,
  baseURL,
}) => {
  const mail = await mailbox(browser, baseURL!);
  // The same person made two accounts: the first stops at the record questions, the second asks support.
  const kept = applicant("Sam", uniqueName("Acct"), ["3", "4", "1980"]);
  const first = await newPage(browser, baseURL!);
  await createAccount(first, mail, kept);
  await first.context().close();
  const duplicate = applicant("Sam", uniqueName("Acct"), ["3", "4", "1980"]);
  const reference = await accountAsksSupport(browser, baseURL!, mail, duplicate);

  await staffSignIn(page, "officer");
  await openTask(page, reference);
  await page.getByLabel("Merge with another account (the same person)").check();
  await page.getByLabel("Email address of the other account").fill(kept.email.toUpperCase());
  const into = `Merged into the account ${kept.email.replace(/[.+]/g, "\\$&")}`;
  await confirmDecision(page, reference, new RegExp(`^${into}$`, "i"));

  const email = await emailAbout(mail, reference);
  await expect(email).toContainText(`To ${kept.email}`);
  await expect(email).toContainText("We could not find your teaching record");
  await expect(email).toContainText("Your two accounts are now one");
  await expectAudited(mail, reference);

  // The task's page says what was decided, and by whom.
  await page.goto(`/support/tasks/${reference}`);
  await expect(page.locator("main")).toContainText(new RegExp(into, "i"));
  await expect(page.locator("main")).toContainText("Sam Okafor");
  await expectNoAxeViolations(page);
  await mail.context().close();
});
