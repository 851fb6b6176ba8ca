// The administrators' services pages (issue 12 items 2 and 4) in a browser, JavaScript on and off, with axe on every
// page: a service added, its redirect URIs changed, its secret replaced (each secret shown once) and the service
// disabled; an API client added, its key shown once and working at the API until the client is disabled; bad and
// hostile input on every form answered with a GOV.UK error summary and what was typed kept. And the QTS certificate
// (item 5): a teacher with QTS finds its link on their record, and the link is a PDF. And the task list's service
// column and filter (item 3): a request made on the way back to the sample NPQ service is shown and found by it.
import { test, expect, type Page } from "@playwright/test";
import { askForSupportFromConnect, expectNoAxeViolations, newPage, newTeacher, pickTeacher, staffSignIn, uniqueName } from "./helpers";

test.describe.configure({ timeout: 120_000 });

const standin = `http://127.0.0.1:${Number(process.env.E2E_PORT ?? 3100) + 1}`;

/** A client id no other run has. */
function uniqueClientId(): string {
  return `e2e-${uniqueName().toLowerCase()}`;
}

/** The add-a-service form, filled in as an administrator would; `changes` are typed over it afterwards. */
async function fillServiceForm(page: Page, clientId: string, name: string) {
  await page.getByLabel("Client ID").fill(clientId);
  await page.getByLabel("Service name").fill(name);
  await page.getByLabel("Service URL").fill("https://service.example");
  await page.getByLabel("Redirect URIs", { exact: true }).fill("https://service.example/callback");
  await page.getByLabel("With a client secret", { exact: false }).check();
  await page.getByLabel("GOV.UK One Login only").check();
  await page.getByLabel("Optional: teachers may return without a TRN").check();
}

/** The summary's messages, in order. */
async function summaryMessages(page: Page): Promise<string[]> {
  await expect(page).toHaveTitle(/^Error: /);
  const summary = page.locator(".govuk-error-summary");
  await expect(summary.getByRole("heading", { name: "There is a problem" })).toBeVisible();
  return (await summary.getByRole("link").allInnerTexts()).map((t) => t.trim());
}

/** The secret the page shows once. */
async function shownSecret(page: Page): Promise<string> {
  const secret = (await page.getByTestId("secret").innerText()).trim();
  expect(secret.length).toBeGreaterThanOrEqual(32);
  return secret;
}

test("an administrator adds a service, changes its redirect URIs, makes a new secret shown once, and disables it", async ({ page }) => {
  await staffSignIn(page, "admin");
  await page.getByRole("link", { name: "Services" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Services");
  await expectNoAxeViolations(page);

  const clientId = uniqueClientId();
  const name = `Sample service ${clientId}`;
  await page.getByRole("button", { name: "Add a service" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Add a service");
  await expectNoAxeViolations(page);
  await fillServiceForm(page, clientId, name);
  await page.getByRole("button", { name: "Add service" }).click();

  // The secret, once: the same page again shows it no more.
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(`The client secret for ${name}`);
  const first = await shownSecret(page);
  await expectNoAxeViolations(page);
  const secretPage = page.url();
  await page.goto(secretPage);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("The client secret is no longer shown");
  await expect(page.getByTestId("secret")).toHaveCount(0);
  await expect(page.locator("main")).not.toContainText(first);
  await page.getByRole("link", { name: "Continue" }).click();

  const row = page.getByTestId("services").getByRole("row").filter({ hasText: clientId });
  await expect(row).toContainText("Enabled");
  await row.getByRole("link", { name }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(name);
  await expectNoAxeViolations(page);

  // Redirect URIs: two now, one on each line.
  const uris = "https://service.example/callback\nhttps://staging.service.example/callback";
  await page.getByLabel("Redirect URIs", { exact: true }).fill(uris);
  await page.getByRole("button", { name: "Save redirect URIs" }).click();
  await expect(page.locator(".govuk-notification-banner--success")).toBeVisible();
  await expect(page.getByLabel("Redirect URIs", { exact: true })).toHaveValue(uris);
  await expectNoAxeViolations(page);

  // A new secret replaces the old, shown once too.
  await page.getByRole("button", { name: "Make a new client secret" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(`The client secret for ${name}`);
  const second = await shownSecret(page);
  expect(second).not.toBe(first);
  await page.goto(page.url());
  await expect(page.getByTestId("secret")).toHaveCount(0);

  // Disabled: the list says so, and the button turns it back on.
  await page.goto(`/support/services/${clientId}/edit`);
  await page.getByRole("button", { name: "Disable this service" }).click();
  await expect(page.locator(".govuk-notification-banner--success")).toBeVisible();
  await expect(page.getByRole("button", { name: "Enable this service" })).toBeVisible();
  await expect(page.locator(".govuk-summary-list")).toContainText("Disabled");
  await expectNoAxeViolations(page);
  await page.goto("/support/services");
  await expect(page.getByTestId("services").getByRole("row").filter({ hasText: clientId })).toContainText("Disabled");
});

test("an administrator adds an API client whose key works once shown, until the client is disabled", async ({ page, baseURL }) => {
  await staffSignIn(page, "admin");
  await page.goto("/support/services");
  await page.getByRole("button", { name: "Add an API client" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Add an API client");
  await expectNoAxeViolations(page);
  const name = `Awarding service ${uniqueName()}`;
  await page.getByLabel("Service name").fill(name);
  await page.getByLabel("trn_tokens:write", { exact: true }).check();
  await page.getByRole("button", { name: "Add API client" }).click();
  const key = await shownSecret(page);
  await expectNoAxeViolations(page);
  await page.goto(page.url());
  await expect(page.getByTestId("secret")).toHaveCount(0);

  // The key is let in (a TRN no record has is a 404, not a 401).
  const call = () =>
    fetch(`${baseURL}/api/v1/trn-tokens`, {
      method: "POST",
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: JSON.stringify({ trn: "9999998", email: "someone@example.com" }),
    });
  expect((await call()).status).toBe(404);

  await page.goto("/support/services");
  const row = page.getByTestId("api-clients").getByRole("row").filter({ hasText: name });
  await expect(row).toContainText("Enabled");
  await row.getByRole("button", { name: `Disable ${name}` }).click();
  await expect(page.locator(".govuk-notification-banner--success")).toBeVisible();
  const disabled = page.getByTestId("api-clients").getByRole("row").filter({ hasText: name });
  await expect(disabled).toContainText("Disabled");
  await expect(disabled.getByRole("button", { name: `Enable ${name}` })).toBeVisible();
  await expectNoAxeViolations(page);
  expect((await call()).status).toBe(401);
});

test("bad and hostile input on the services forms gets a GOV.UK error summary and keeps what was typed", async ({ page }) => {
  await staffSignIn(page, "admin");

  // Nothing typed at all.
  await page.goto("/support/services/new");
  await page.getByLabel("Client ID").fill("");
  for (const scope of ["openid", "email", "profile", "teaching_record"]) {
    await page.getByLabel(scope, { exact: true }).uncheck();
  }
  await page.getByRole("button", { name: "Add service" }).click();
  const empty = await summaryMessages(page);
  for (const message of [
    "Enter a client ID",
    "Enter the service’s name",
    "Enter the service’s URL",
    "Enter at least one redirect URI",
    "Select how the service authenticates",
    "Select openid: every service needs it",
    "Select how teachers may sign in",
    "Select whether teachers need a TRN",
  ]) {
    expect(empty).toContain(message);
  }
  // Each message links to its field.
  await expect(page.locator(".govuk-error-summary").getByRole("link", { name: "Enter a client ID" })).toHaveAttribute("href", "#client_id");
  await expectNoAxeViolations(page);

  // Hostile and odd input: script URLs, http:// away from localhost, credentials, fragments, a name too long,
  // a client id in another alphabet with a right-to-left override. None of it is stored; all of it comes back.
  const oddId = "npq\u202Eñ✓";
  const longName = "N".repeat(201);
  const hostile = [
    "javascript:alert(1)",
    "http://evil.example/callback",
    "https://user:pass@service.example/callback",
    "https://service.example/callback#frag",
    "data:text/html,<script>alert(1)</script>",
    `https://service.example/${"x".repeat(3000)}`,
  ].join("\n");
  await page.goto("/support/services/new");
  await fillServiceForm(page, oddId, longName);
  await page.getByLabel("Redirect URIs", { exact: true }).fill(hostile);
  await page.getByLabel("Post-logout redirect URIs (optional)").fill("vbscript:msgbox(1)");
  await page.getByRole("button", { name: "Add service" }).click();
  const messages = await summaryMessages(page);
  expect(messages).toContain(
    "Client ID must be 100 characters or fewer, using only letters, digits, hyphens (-), underscores (_) and full stops (.)",
  );
  expect(messages).toContain("Service name must be 200 characters or fewer");
  // The first bad URI of a field is named.
  expect(messages).toContain("Redirect URI “javascript:alert(1)” must start with https:// (http:// only for localhost)");
  expect(messages.some((m) => m.startsWith("Post-logout redirect URI “vbscript:msgbox(1)”"))).toBe(true);
  await expect(page.getByLabel("Client ID")).toHaveValue(oddId);
  await expect(page.getByLabel("Service name")).toHaveValue(longName);
  // Kept as typed; the URI far past any limit is kept truncated (DESIGN §4, too long).
  const kept = await page.getByLabel("Redirect URIs", { exact: true }).inputValue();
  expect(kept.startsWith(hostile.slice(0, hostile.lastIndexOf("\n") + 1) + "https://service.example/xxxx")).toBe(true);
  await expect(page.getByLabel("Post-logout redirect URIs (optional)")).toHaveValue("vbscript:msgbox(1)");
  await expect(page.getByLabel("GOV.UK One Login only")).toBeChecked();
  // Nothing the page shows ran as markup.
  await expect(page.locator("main script")).toHaveCount(0);
  await expectNoAxeViolations(page);
  await page.goto("/support/services");
  await expect(page.locator("main")).not.toContainText(longName);

  // The edit form: a hostile URI changes nothing, and what was typed comes back with its message.
  const clientId = uniqueClientId();
  await page.goto("/support/services/new");
  await fillServiceForm(page, clientId, `Edited service ${clientId}`);
  await page.getByRole("button", { name: "Add service" }).click();
  await expect(page.getByTestId("secret")).toBeVisible();
  await page.goto(`/support/services/${clientId}/edit`);
  const typed = "https://service.example/callback\nhttp://evil.example/callback";
  await page.getByLabel("Redirect URIs", { exact: true }).fill(typed);
  await page.getByRole("button", { name: "Save redirect URIs" }).click();
  const editMessages = await summaryMessages(page);
  expect(editMessages).toContain("Redirect URI “http://evil.example/callback” must start with https:// (http:// only for localhost)");
  await expect(page.getByLabel("Redirect URIs", { exact: true })).toHaveValue(typed);
  await expectNoAxeViolations(page);
  await page.goto(`/support/services/${clientId}/edit`);
  await expect(page.getByLabel("Redirect URIs", { exact: true })).toHaveValue("https://service.example/callback");
  // Emptied: a service needs one.
  await page.getByLabel("Redirect URIs", { exact: true }).fill("   ");
  await page.getByRole("button", { name: "Save redirect URIs" }).click();
  expect(await summaryMessages(page)).toContain("Enter at least one redirect URI");

  // The API client form: nothing, then a name too long with odd Unicode and no scope.
  await page.goto("/support/api-clients/new");
  await page.getByRole("button", { name: "Add API client" }).click();
  expect(await summaryMessages(page)).toEqual(["Enter the service’s name", "Select at least one scope"]);
  await expectNoAxeViolations(page);
  const longApiName = `Zoë O’Brien‮ ${"ß".repeat(200)}`;
  await page.getByLabel("Service name").fill(longApiName);
  await page.getByRole("button", { name: "Add API client" }).click();
  expect(await summaryMessages(page)).toEqual(["Service name must be 200 characters or fewer", "Select at least one scope"]);
  await expect(page.getByLabel("Service name")).toHaveValue(longApiName);
});

test("a teacher with QTS finds the certificate link on their record, and it is a PDF", async ({ page, browser, baseURL }) => {
  // `unverified-email` is a persona no other spec signs in as; each project has a database of its own.
  const personas = (await (await fetch(`${standin}/admin/personas`)).json()) as { id: string; trn_hint: string | null }[];
  const trn = personas.find((p) => p.id === "unverified-email")!.trn_hint!;

  // QTS on their record, from an awarding service with a key an administrator made.
  const admin = await (await browser.newContext({ baseURL, javaScriptEnabled: test.info().project.use.javaScriptEnabled })).newPage();
  await staffSignIn(admin, "admin");
  await admin.goto("/support/api-clients/new");
  await admin.getByLabel("Service name").fill(`Awarding service ${uniqueName()}`);
  await admin.getByLabel("qts:write", { exact: true }).check();
  await admin.getByRole("button", { name: "Add API client" }).click();
  const key = await shownSecret(admin);
  await admin.context().close();
  const award = await fetch(`${baseURL}/api/v1/teachers/${trn}/qts`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify({ awarded: "2026-07-01" }),
  });
  expect([200, 201]).toContain(award.status);

  // They sign in and connect by their TRN (One Login has not verified their email, so they are asked).
  await page.goto("/sign-in");
  for (const outcome of ["Signed in (no identity check)", "Signed in and identity proven"]) {
    await expect(page).toHaveURL(/\/authorize/);
    await page.getByLabel("(unverified-email)", { exact: false }).first().check();
    await page.getByLabel(outcome, { exact: false }).first().check();
    await page.getByRole("button", { name: /continue/i }).click();
  }
  if (/\/connect$/.test(page.url())) {
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("group").getByLabel("No", { exact: true }).check();
    await page.getByRole("button", { name: "Continue" }).click();
    await expect(page).toHaveURL(/\/connect\/trn$/);
    await page.getByRole("group").getByLabel("Yes", { exact: true }).check();
    await page.getByLabel("Teacher reference number (TRN)", { exact: true }).fill(trn);
    await page.getByRole("button", { name: "Continue" }).click();
    await expect(page).toHaveURL(/\/connected$/);
  }
  await page.goto("/record");
  const link = page.getByRole("link", { name: "Download your QTS certificate (PDF)" });
  await expect(link).toBeVisible();
  await expectNoAxeViolations(page);
  const href = await link.getAttribute("href");
  expect(href).toBe("/record/qts-certificate.pdf");

  // The link, with the teacher's session: a PDF.
  const pdf = await page.request.get(href!);
  expect(pdf.status()).toBe(200);
  expect(pdf.headers()["content-type"]).toMatch(/^application\/pdf/);
  const body = await pdf.body();
  expect(body.subarray(0, 5).toString("latin1")).toBe("%PDF-");
  expect(body.length).toBeGreaterThan(500);
  // Nobody else's: without a session it is not served.
  const anonymous = await fetch(`${baseURL}${href}`, { redirect: "manual" });
  expect(anonymous.headers.get("content-type") ?? "").not.toMatch(/application\/pdf/);
});

test("support staff see which service a request came from, and filter the tasks by it", async ({ page, browser, baseURL }) => {
  const NPQ = "Register for an NPQ (sample)";
  const port = Number(process.env.E2E_PORT ?? 3100) + (test.info().project.name === "js" ? 3 : 4);
  const lastName = uniqueName();
  const teacher = await newPage(browser, baseURL!);
  await teacher.goto(`http://127.0.0.1:${port}/npq/`);
  await teacher.getByRole("link", { name: "Start now" }).click();
  // NPQ offers DfE Identity accounts too: the choice of the two ways in comes first.
  await teacher.getByRole("button", { name: "Continue with GOV.UK One Login" }).click();
  const person = newTeacher("Robin", lastName, [3, 4, 1981]);
  await pickTeacher(teacher, person, "Signed in (no identity check)");
  await pickTeacher(teacher, person, "Signed in and identity proven");
  await expect(teacher).toHaveURL(/\/connect$/);
  const reference = await askForSupportFromConnect(teacher);
  await teacher.context().close();

  await staffSignIn(page, "officer");
  const service = page.getByLabel("Service", { exact: true });
  await expect(service.locator("option")).toContainText(["All services", "Came directly to Teacher ID", NPQ]);
  await page.getByLabel("Search").fill(lastName);
  await service.selectOption({ label: NPQ });
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(page).toHaveURL(/service=npq-sample/);
  const row = page.getByTestId("tasks").getByRole("row").filter({ hasText: reference });
  await expect(row).toContainText(NPQ);
  await expect(page.getByTestId("task-count")).toHaveText("1 task");
  await expectNoAxeViolations(page);

  // Those who came directly: not this request.
  await page.getByLabel("Service", { exact: true }).selectOption({ label: "Came directly to Teacher ID" });
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(page).toHaveURL(/service=%7Edirect/);
  await expect(page.getByText("No tasks match these filters.")).toBeVisible();
  // The back button returns to the NPQ list, and the filter with it.
  await page.goBack();
  await expect(page.getByTestId("tasks").getByRole("row").filter({ hasText: reference })).toContainText(NPQ);
  if (test.info().project.use.javaScriptEnabled) {
    // Without JavaScript the browser puts back the form's last values on a back navigation, whatever the page says.
    await expect(page.getByLabel("Service", { exact: true })).toHaveValue("npq-sample");
  }

  await page.getByRole("link", { name: reference }).click();
  await expect(page.getByTestId("task-service")).toContainText(NPQ);
  await expectNoAxeViolations(page);
});
