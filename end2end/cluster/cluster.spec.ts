// Teacher ID as an operator runs it (issue 14): three instances on one PostgreSQL behind HAProxy. All state is in
// the database, so requests may land on any instance, an instance may die at any moment, and every instance runs
// the email outbox and the live feed: these tests check that this holds, through HAProxy, in Chromium.
import { test, expect, type Page, type Browser } from "@playwright/test";
import { createHash } from "node:crypto";
import { askForSupportFromConnect, newTeacher, pickTeacher, signInVerified, staffSignIn, teacherAsksForSupport, uniqueName, type Teacher } from "../tests/helpers";
import { cluster, expectAllUp, instanceUrl, lastPageServedBy, notifySent, recordServed, sql, standinUrl } from "./cluster";

test.beforeEach(async () => {
  await expectAllUp();
});

/** An officer decides task `reference` "not connected", stopping at the check page; the confirm button is next. */
async function chooseNotConnected(page: Page, reference: string) {
  await page.goto(`/support/tasks/${reference}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(reference);
  await page.getByLabel("Do not connect a record").check();
  await page.getByLabel("There is no matching teaching record").check();
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(/\/check$/);
  await expect(page.getByTestId("pending-decision")).toHaveText("Not connected: There is no matching teaching record");
}

/** Waits until the Notify fake has the email for task `reference`, then long enough for every instance's worker to
 * have looked again (they poll every 2 s), and expects it exactly once. */
async function expectEmailedOnce(reference: string) {
  const forTask = async () => (await notifySent()).filter((e) => e.task_reference === reference);
  await expect.poll(async () => (await forTask()).length, { timeout: 15_000 }).toBeGreaterThan(0);
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  expect(await forTask(), `emails for ${reference}`).toHaveLength(1);
}

async function staffPage(browser: Browser, baseURL: string) {
  const context = await browser.newContext({ baseURL });
  return { context, page: await context.newPage() };
}

test("a teacher's journey lands on all three instances and loses nothing", async ({ page, browser, baseURL }) => {
  const served = recordServed(page);
  const teacher = newTeacher("Robin", uniqueName(), [2, 2, 1962]);
  const reference = await teacherAsksForSupport(page, teacher);

  // Round robin: the pages of one journey (and their scripts and styles) came from every instance.
  const pages = served.filter((s) => s.navigation);
  expect(new Set(pages.map((s) => s.by)), "instances that served the journey's pages").toEqual(new Set(["i1", "i2", "i3"]));
  expect(served.filter((s) => s.status >= 500), "5xx responses").toEqual([]);

  // What the teacher said on those pages is all in the task an officer opens.
  const staff = await staffPage(browser, baseURL!);
  await staffSignIn(staff.page, "officer");
  await staff.page.goto(`/support/tasks/${reference}`);
  await expect(staff.page.getByRole("heading", { level: 1 })).toHaveText(reference);
  await expect(staff.page.locator("main")).toContainText(`Robin ${teacher.last}`);
  await staff.context.close();
});

test("an instance killed mid-journey, and another mid-decision, lose nothing", async ({ page, browser, baseURL }) => {
  const killed: number[] = [];
  try {
    const served = recordServed(page);
    const teacher = newTeacher("Kim", uniqueName(), [3, 3, 1971]);
    await signInVerified(page, teacher);
    // The instance that just served the teacher's page dies without a chance to tidy up (once the page's own
    // requests are done, so that everything after is the journey going on).
    await page.waitForLoadState("networkidle");
    const first = lastPageServedBy(served);
    cluster("kill", String(first));
    killed.push(first);
    const killedAt = served.length;
    const reference = await askForSupportFromConnect(page);
    const after = served.slice(killedAt).filter((s) => s.dynamic);
    expect(after.length, "pages and fetches after the kill").toBeGreaterThan(3);
    expect(after.filter((s) => s.by === `i${first}`), "responses from the killed instance").toEqual([]);
    expect(after.filter((s) => s.status >= 500), "5xx responses after the kill").toEqual([]);

    // An officer has chosen a decision; the instance that showed them the check page dies before they confirm.
    const staff = await staffPage(browser, baseURL!);
    const staffServed = recordServed(staff.page);
    await staffSignIn(staff.page, "officer");
    await chooseNotConnected(staff.page, reference);
    await staff.page.waitForLoadState("networkidle");
    const second = lastPageServedBy(staffServed);
    expect(second).not.toBe(first);
    cluster("kill", String(second));
    killed.push(second);
    await staff.page.getByRole("button", { name: "Confirm decision" }).click();
    await expect(staff.page).toHaveURL(/\/support$/);
    await expect(staff.page.locator(".govuk-notification-banner--success")).toContainText(`Task ${reference}`);
    expect(staffServed.filter((s) => s.status >= 500), "5xx responses").toEqual([]);

    // The decision is recorded (another instance shows it) and its email goes out once, from the survivor.
    await staff.page.goto(`/support/tasks/${reference}`);
    await expect(staff.page.locator("main")).toContainText(/decided|Not connected/i);
    await expectEmailedOnce(reference);
    const survivor = [1, 2, 3].find((n) => !killed.includes(n));
    const email = (await notifySent()).find((e) => e.task_reference === reference)!;
    expect(email.instance, "the instance whose worker sent the email").toBe(String(survivor));
    await staff.context.close();
  } finally {
    for (const n of killed) cluster("start-instance", String(n));
  }
});

test("a task raised through one instance appears within 1 s on a dashboard served by another", async ({ page, browser, baseURL }) => {
  // The dashboard, and its live feed, come from instance 1 itself; HAProxy sends the teacher only to 2 and 3.
  await staffSignIn(page, "officer");
  await page.goto(`${instanceUrl(1)}/support?status=all&sort=requested&direction=desc`);
  await page.locator("body[data-ready]").waitFor({ state: "attached" });
  // When each change reached the page, by the same clock as the teacher's requests below.
  await page.evaluate(() => {
    const w = window as unknown as { changes: [number, string][] };
    w.changes = [];
    new MutationObserver(() => {
      w.changes.push([Date.now(), document.querySelector('[data-testid="tasks"]')?.textContent ?? ""]);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  // Time for the page's live feed to connect before the task is raised.
  await page.waitForTimeout(1_000);
  cluster("haproxy", "disable server instances/i1");
  try {
    const context = await browser.newContext({ baseURL });
    const teacherPage = await context.newPage();
    const served = recordServed(teacherPage);
    const reference = await teacherAsksForSupport(teacherPage, newTeacher("Lee", uniqueName(), [4, 4, 1980]));
    await context.close();
    expect(new Set(served.map((s) => s.by)), "instances that served the teacher").toEqual(new Set(["i2", "i3"]));

    // The task exists once the request that raised it is answered: the last POST.
    const raised = served.filter((s) => s.method === "POST").at(-1)!.at;
    await expect(page.getByTestId("tasks")).toContainText(reference, { timeout: 5_000 });
    const changes = await page.evaluate(() => (window as unknown as { changes: [number, string][] }).changes);
    const shown = changes.find(([, text]) => text.includes(reference))![0];
    console.log(`task ${reference} raised through HAProxy, on instance 1's dashboard ${shown - raised} ms later`);
    expect(shown - raised, "ms from the task being raised to the dashboard showing it").toBeLessThan(1_000);
  } finally {
    cluster("haproxy", "enable server instances/i1");
  }
});

test("every instance runs the email outbox, and each email is sent exactly once", async () => {
  const run = uniqueName("cluster-");
  const queue = (references: string[]) =>
    sql(
      `INSERT INTO email_outbox (reference, template, email_address, personalisation, task_reference, status, attempts, next_attempt_at, created_at) VALUES ` +
        references
          .map(
            (r) =>
              `('${r}', 'not_connected', 'teacher@example.com', '{"name":"Ann Lee","reason":"No record","sign_in_url":"http://127.0.0.1/","reference":"${r}"}', NULL, 'pending', 0, now(), now())`,
          )
          .join(", "),
    );
  const sentFor = async (prefix: string) => (await notifySent()).filter((e) => e.reference.startsWith(prefix));

  // Each instance alone, the other two paused (SIGSTOP: alive, but neither polling nor claiming), sends an email
  // queued with nobody to wake it: its own worker found it.
  for (const n of [1, 2, 3]) {
    const others = [1, 2, 3].filter((m) => m !== n);
    for (const m of others) cluster("signal", "STOP", String(m));
    try {
      queue([`${run}-alone-${n}`]);
      await expect.poll(async () => (await sentFor(`${run}-alone-${n}`)).map((e) => e.instance), { timeout: 10_000 }).toEqual([String(n)]);
    } finally {
      for (const m of others) cluster("signal", "CONT", String(m));
    }
  }

  // All three at once, racing for 150 emails: each reaches Notify once.
  const references = Array.from({ length: 150 }, (_, i) => `${run}-race-${i}`);
  queue(references);
  await expect.poll(async () => (await sentFor(`${run}-race-`)).length, { timeout: 30_000 }).toBeGreaterThanOrEqual(150);
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const sent = await sentFor(`${run}-race-`);
  expect(sent.map((e) => e.reference).sort()).toEqual([...references].sort());
  const byInstance: Record<string, number> = {};
  for (const e of sent) byInstance[e.instance ?? "?"] = (byInstance[e.instance ?? "?"] ?? 0) + 1;
  console.log(`150 emails queued at once, sent by instance: ${JSON.stringify(byInstance)}`);
  expect(sql(`SELECT count(*) FROM email_outbox WHERE reference LIKE '${run}-%' AND status <> 'sent'`).trim()).toBe("0");
});

/** One Login's `sub` for a stand-in person of our own: it follows from their email (onelogin-standin personas.rs). */
function subOf(teacher: Teacher): string {
  const digest = createHash("sha256").update(`custom:${teacher.email.toLowerCase()}`).digest("base64url");
  return `urn:fdc:gov.uk:2022:${digest}`;
}

/** Whether each instance, asked directly with the page's cookies, still has the teacher signed in. */
async function signedInOn(page: Page): Promise<boolean[]> {
  const answers = [];
  for (const n of [1, 2, 3]) {
    // A signed-in teacher's pages have the header's sign-out link; /connect is empty for anyone else.
    const response = await page.request.get(`${instanceUrl(n)}/connect`, { maxRedirects: 0 });
    answers.push(response.status() === 200 && (await response.text()).includes('href="/sign-out"'));
  }
  return answers;
}

test("a sign-out through one instance, or One Login's back-channel logout, ends the session on all", async ({ page, browser, baseURL }) => {
  const served = recordServed(page);
  await signInVerified(page, newTeacher("Jo", uniqueName(), [5, 5, 1985]));
  expect(await signedInOn(page)).toEqual([true, true, true]);
  await page.getByRole("link", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signed-out\/done$/);
  const signOut = served.filter((s) => new URL(s.url).pathname === "/sign-out");
  expect(signOut.map((s) => s.by), "the instance the sign-out went to, through HAProxy").toHaveLength(1);
  expect(await signedInOn(page)).toEqual([false, false, false]);

  // One Login says the teacher signed out elsewhere: its logout token reaches one instance through HAProxy.
  const context = await browser.newContext({ baseURL });
  const other = await context.newPage();
  const teacher = newTeacher("Al", uniqueName(), [6, 6, 1966]);
  await other.goto("/sign-in");
  await pickTeacher(other, teacher, "Signed in (no identity check)");
  await pickTeacher(other, teacher, "Signed in and identity proven");
  await expect(other).toHaveURL(/\/connect$/);
  expect(await signedInOn(other)).toEqual([true, true, true]);
  const delivered = await fetch(`${standinUrl}/admin/backchannel-logout`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sub: subOf(teacher) }),
  });
  expect(delivered.status, "the service's answer to the logout token").toBe(200);
  expect(await signedInOn(other)).toEqual([false, false, false]);
  await context.close();
});
