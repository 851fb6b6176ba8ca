// Browser tests for pages that had none, JavaScript on and off, with axe on each: the "Sign out?" page a sign-out
// link from elsewhere lands on (while the header's own link signs out at once), the identity-support form refusing
// a proof over 10MB with what was typed kept, and an administrator undoing a connection (a reason, a check, the
// confirmation; the teacher starts again; officers neither see nor can use the form).
// Each teacher is a new person of the stand-in's own ("custom", their One Login account follows from the email), so
// no other test's connections or requests get in the way.
import { test, expect, type Browser, type Page } from "@playwright/test";
import {
  PNG,
  expectErrors,
  expectNoAxeViolations,
  newPage,
  newTeacher,
  pickTeacher,
  signInVerified,
  staffSignIn,
  teacherAsksForSupport,
  uniqueName,
  type Teacher,
} from "./helpers";

// Several One Login round trips per test, and without JavaScript each axe check replays the page.
test.describe.configure({ timeout: 120_000 });

/** A new teacher of this spec's, born 4 August 1983. */
function someone(first: string): Teacher {
  return newTeacher(first, uniqueName("Zg"), [4, 8, 1983]);
}

/** With JavaScript, waits for the page to be hydrated and GOV.UK Frontend started, so reveals work. */
async function ready(page: Page) {
  if (test.info().project.use.javaScriptEnabled !== false) {
    await page.locator("body[data-ready]").waitFor({ state: "attached", timeout: 15_000 });
  }
}

/** A page on another site, served by the test itself, with `body` in it. */
async function otherSite(page: Page, body: string) {
  await page.route("http://elsewhere.example/", (route) =>
    route.fulfill({ contentType: "text/html; charset=utf-8", body: `<!doctype html><title>Elsewhere</title>${body}` }),
  );
  await page.goto("http://elsewhere.example/");
}

test("a sign-out link from another site asks first; Stay signed in keeps the session and the button signs out", async ({ page, baseURL }) => {
  const teacher = someone("Noor");
  await signInVerified(page, teacher);

  // Another site's link: the question, still signed in.
  await otherSite(page, `<a href="${baseURL}/sign-out">Sign out of Teacher ID</a>`);
  await page.getByRole("link", { name: "Sign out of Teacher ID" }).click();
  await expect(page).toHaveURL(/\/sign-out\/confirm$/);
  await expect(page).toHaveTitle(/^Sign out\?/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Sign out?");
  await expect(page.getByText("You will be signed out of Teacher ID and GOV.UK One Login.")).toBeVisible();
  await expectNoAxeViolations(page);
  await page.getByRole("link", { name: "Stay signed in" }).click();
  await expect(page).toHaveURL(/\/connect$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("You’ve signed in and verified your identity");

  // Another site's form posting to sign-out, without our token: refused, still signed in.
  await otherSite(page, `<form method="post" action="${baseURL}/sign-out"><button>Sign out of Teacher ID</button></form>`);
  await page.getByRole("button", { name: "Sign out of Teacher ID" }).click();
  await expect(page).toHaveURL(`${baseURL}/sign-out`);
  await page.goto("/continue");
  await expect(page).toHaveURL(/\/connect$/);

  // A typed address asks too; the page's button signs out of here and of One Login.
  await page.goto("/sign-out");
  await expect(page).toHaveURL(/\/sign-out\/confirm$/);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signed-out\/done$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("You have signed out");
  await page.goto("/connect");
  await expect(page).toHaveURL(/\/authorize/);
  // Signed out, the question is not asked: there is nothing to sign out of.
  await page.goto("/sign-out");
  await expect(page).toHaveURL(/\/signed-out/);
  await expect(page).not.toHaveURL(/\/sign-out\/confirm/);
});

test("the header's Sign out link signs out at once, without the question", async ({ page }) => {
  const teacher = someone("Ines");
  await signInVerified(page, teacher);
  const visited: string[] = [];
  page.on("request", (request) => {
    if (request.isNavigationRequest()) visited.push(new URL(request.url()).pathname);
  });
  await page.getByRole("link", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signed-out\/done$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("You have signed out");
  expect(visited, "the sign-out went through our sign-out and One Login's").toEqual(
    expect.arrayContaining(["/sign-out", "/logout", "/signed-out/done"]),
  );
  expect(visited).not.toContain("/sign-out/confirm");
  await page.goto("/connect");
  await expect(page).toHaveURL(/\/authorize/);
});

test("a proof over 10MB is refused on the form with what was typed kept, and exactly 10MB is accepted", async ({ page }) => {
  const teacher = someone("Amara");
  await page.goto("/sign-in");
  await pickTeacher(page, teacher, "Signed in (no identity check)");
  await pickTeacher(page, teacher, "Signed in but identity could not be proven");
  await expect(page).toHaveURL(/\/identity-not-verified$/);
  await page.getByRole("button", { name: "Ask for support" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Ask for help to prove your identity");

  const name = `${teacher.first} ${teacher.last}`;
  await page.getByLabel("Full name", { exact: true }).fill(name);
  await page.getByLabel("Previous name (optional)").fill("Amara Okonkwo-Smith");
  await page.getByLabel("Day").fill("4");
  await page.getByLabel("Month").fill("8");
  await page.getByLabel("Year").fill("1983");
  await page.getByLabel("Teacher reference number (TRN) (optional)").fill("1234567");
  // A real PNG's first bytes, padded: 10,485,760 bytes is the most allowed.
  const sized = (bytes: number) => Buffer.concat([PNG, Buffer.alloc(bytes - PNG.length)]);
  const limit = 10 * 1024 * 1024;
  await page.getByLabel("Upload proof of your identity").setInputFiles({ name: "passport.png", mimeType: "image/png", buffer: sized(limit + 1) });
  await page.getByRole("button", { name: "Continue" }).click();

  await expect(page).toHaveURL(/\/identity-support$/);
  await expectErrors(page, ["The selected file must be smaller than 10MB"]);
  await expect(page.locator("#proof-error")).toContainText("The selected file must be smaller than 10MB");
  await expect(page.getByLabel("Full name", { exact: true })).toHaveValue(name);
  await expect(page.getByLabel("Previous name (optional)")).toHaveValue("Amara Okonkwo-Smith");
  await expect(page.getByLabel("Day")).toHaveValue("4");
  await expect(page.getByLabel("Month")).toHaveValue("8");
  await expect(page.getByLabel("Year")).toHaveValue("1983");
  await expect(page.getByLabel("Teacher reference number (TRN) (optional)")).toHaveValue("1234567");
  // The refused file is not kept as if it had been uploaded.
  await expect(page.getByText("You’ve uploaded")).toHaveCount(0);
  await expectNoAxeViolations(page);

  await page.getByLabel("Upload proof of your identity").setInputFiles({ name: "passport.png", mimeType: "image/png", buffer: sized(limit) });
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(/\/identity-support\/check$/);
  await expect(page.getByText(name, { exact: true })).toBeVisible();
  await expect(page.getByText("passport.png")).toBeVisible();
});

/**
 * The record the officer connects: the last of the 3,000 seeded records (`trn_for(2999)` in
 * app/src/domain/synthetic.rs), which is active and far past the records the stand-in draws its personas from, so no
 * other test connects it.
 */
const FREE_TRN = String(1_000_000 + ((2999 * 7919 + 1234) % 9_000_000));

/** Posts the disconnect form as the signed-in staff member would, with their CSRF token; the response. */
async function postDisconnect(page: Page, reference: string, fields: Record<string, string>) {
  const csrf = (await page.context().cookies()).find((c) => c.name === "tid_csrf")!.value;
  return page.request.post(`/support/tasks/${reference}/disconnect`, {
    form: { csrf_token: csrf, ...fields },
    maxRedirects: 0,
  });
}

test("an administrator undoes a connection with a reason and a check, and the teacher starts again; an officer cannot", async ({ page, browser, baseURL }) => {
  const teacher = someone("Robin");
  const teacherPage = await newPage(browser, baseURL!);
  const reference = await teacherAsksForSupport(teacherPage, teacher);
  const taskPath = `/support/tasks/${reference}`;

  // An officer connects the teacher to a record, and the teacher sees it.
  const officer = await newPage(browser, baseURL!);
  await staffSignIn(officer, "officer");
  await officer.goto(taskPath);
  await ready(officer);
  await officer.getByLabel("Connect a record", { exact: true }).check();
  await officer.getByLabel("Another record (enter its TRN)").check();
  await officer.getByLabel("TRN", { exact: true }).fill(FREE_TRN);
  await officer.getByRole("button", { name: "Continue" }).click();
  await expect(officer.getByTestId("pending-decision")).toHaveText(`Connected to the record with TRN ${FREE_TRN}`);
  await officer.getByRole("button", { name: "Confirm decision" }).click();
  await expect(officer.locator(".govuk-notification-banner--success")).toContainText(`Task ${reference}`);
  await teacherPage.goto("/continue");
  await expect(teacherPage).toHaveURL(/\/record$/);
  await expect(teacherPage.getByText(FREE_TRN, { exact: true })).toBeVisible();

  // The officer does not see the form, and cannot use it.
  await officer.goto(taskPath);
  await expect(officer.getByTestId("history")).toContainText("connected by Sam Okafor");
  await expect(officer.getByRole("heading", { name: "Disconnect the record" })).toHaveCount(0);
  await expect(officer.locator("#disconnect_reason")).toHaveCount(0);
  const refused = await postDisconnect(officer, reference, { action: "confirm", disconnect_reason: "Wrong record", trn: FREE_TRN });
  expect(refused.status()).toBe(403);
  await teacherPage.goto("/continue");
  await expect(teacherPage).toHaveURL(/\/record$/);

  // An administrator: no reason is an error, in the GOV.UK pattern.
  await staffSignIn(page, "admin");
  await page.goto(taskPath);
  const section = page.locator("#disconnect");
  await expect(section.getByRole("heading", { name: "Disconnect the record" })).toBeVisible();
  await expect(section).toContainText(`TRN ${FREE_TRN}`);
  await expectNoAxeViolations(page);
  await page.getByLabel("Why are you disconnecting the record?", { exact: false }).fill("   ");
  await section.getByRole("button", { name: "Continue" }).click();
  await expectErrors(page, ["Enter the reason"]);
  await expect(page.locator("#disconnect_reason")).toHaveAttribute("aria-describedby", "disconnect_reason-error");
  await expectNoAxeViolations(page);

  // A reason, then the check: nothing has changed yet.
  const reason = "The names match but the teacher says this is not their record";
  await page.getByLabel("Why are you disconnecting the record?", { exact: false }).fill(reason);
  await section.getByRole("button", { name: "Continue" }).click();
  const check = page.getByTestId("disconnect-check");
  await expect(check.getByRole("heading", { name: "Check before you disconnect the record" })).toBeVisible();
  await expect(check).toContainText(`TRN ${FREE_TRN}`);
  await expect(check).toContainText(teacher.email);
  await expect(check).toContainText(reason);
  await expectNoAxeViolations(page);
  await teacherPage.goto("/continue");
  await expect(teacherPage).toHaveURL(/\/record$/);

  // Confirmed: the banner, the history line with the reason, and the teacher's email.
  await check.getByRole("button", { name: "Disconnect the record" }).click();
  await expect(page).toHaveURL(new RegExp(`${taskPath}$`));
  await expect(page.locator(".govuk-notification-banner--success")).toContainText(
    `The record with TRN ${FREE_TRN} is no longer connected`,
  );
  await expect(page.getByTestId("history")).toContainText(`disconnected by Ada Adeyemi (support task ${reference}): ${reason}`);
  await expect(page.getByRole("heading", { name: "Disconnect the record" })).toHaveCount(0);
  await page.goto("/dev/mailbox");
  const email = page.getByTestId("email").filter({ hasText: "We have disconnected your teaching record" }).filter({ hasText: reference });
  await expect(email).toHaveCount(1);
  await expect(email).toContainText(reason);

  // Confirming again (the same request the officer was refused) finds nothing to undo.
  const again = await postDisconnect(page, reference, { action: "confirm", disconnect_reason: reason, trn: FREE_TRN });
  expect(again.status()).toBe(303);
  await page.goto(taskPath);
  await expect(page.locator(".govuk-error-summary")).toContainText("The teacher is not connected to a record any more");

  // The teacher no longer sees the record: in the tab left open, and when they sign in again, they start again.
  await teacherPage.goto("/continue");
  await expect(teacherPage).toHaveURL(/\/connect$/);
  const back = await newPage(browser, baseURL!);
  await back.goto("/sign-in");
  await pickTeacher(back, teacher, "Signed in (no identity check)");
  await expect(back).toHaveURL(/\/connect$/);
  await expect(back.getByRole("heading", { level: 1 })).toHaveText("You’ve signed in and verified your identity");
  await back.getByRole("button", { name: "Continue" }).click();
  await expect(back.getByRole("heading", { level: 1 })).toHaveText("Do you know your National Insurance number?");
});
