// Teacher ID as the sign-in service of other DfE services (DESIGN §7.1), walked from the sample services
// (end2end/sample-service), which sign in with `openid-client`, an OpenID Certified relying-party library that is
// not ours: discovery, PKCE, state, nonce, private_key_jwt at the token endpoint, the ID token's signature against
// our JWKS and userinfo are all checked by it, not by us. JavaScript on and off (the sample pages have none; ours
// run both ways).
import { test, expect, type Page } from "@playwright/test";
import {
  askForSupportFromConnect,
  expectNoAxeViolations,
  newPage,
  newTeacher,
  pickTeacher,
  staffSignIn,
  uniqueName,
} from "./helpers";

test.describe.configure({ timeout: 120_000 });

const standin = `http://127.0.0.1:${Number(process.env.E2E_PORT ?? 3100) + 1}`;
const AYTQ = "Access your teaching qualifications (sample)";
const NPQ = "Register for an NPQ (sample)";

/** The sample services beside the service this project tests (playwright.config.ts). */
function sample(path: "aytq" | "npq"): string {
  const port = Number(process.env.E2E_PORT ?? 3100) + (test.info().project.name === "js" ? 3 : 4);
  return `http://127.0.0.1:${port}/${path}/`;
}

async function personaTrn(id: string): Promise<string> {
  const all = (await (await fetch(`${standin}/admin/personas`)).json()) as { id: string; trn_hint: string | null }[];
  return all.find((p) => p.id === id)!.trn_hint!;
}

/** At the stand-in's picker: a persona (by the id in its label) and an outcome. */
async function pick(page: Page, who: string, outcome: string) {
  await expect(page).toHaveURL(/\/authorize/);
  await page.getByLabel(who, { exact: false }).first().check();
  await page.getByLabel(outcome, { exact: false }).first().check();
  await page.getByRole("button", { name: /continue/i }).click();
}

/** The claims table the sample service shows, as an object. */
async function claims(page: Page, caption: string): Promise<Record<string, string>> {
  const table = page.locator("table", { has: page.getByRole("heading", { name: caption }) });
  const out: Record<string, string> = {};
  for (const row of await table.locator("tbody tr").all()) {
    out[(await row.locator("th").innerText()).trim()] = (await row.locator("td").innerText()).trim();
  }
  return out;
}

async function startAt(page: Page, service: "aytq" | "npq") {
  await page.goto(sample(service));
  await page.getByRole("link", { name: "Start now" }).click();
}

async function continueTo(page: Page, service: string) {
  const button = page.getByRole("button", { name: `Continue to ${service}` });
  await expect(button).toBeVisible();
  await expectNoAxeViolations(page);
  await button.click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("You are signed in");
}

test("a connected teacher signs in to a service that needs a TRN, which receives it, then to a second service without signing in again", async ({
  page,
}) => {
  // `other-service` is an exact match no other spec signs in (each project has a database of its own).
  const trn = await personaTrn("other-service");
  await startAt(page, "aytq");
  await pick(page, "(other-service)", "Signed in (no identity check)");
  await pick(page, "(other-service)", "Signed in and identity proven");
  await expect(page).toHaveURL(/\/connected$/);
  await continueTo(page, AYTQ);
  const idToken = await claims(page, "Claims in the ID token");
  expect(idToken.trn).toBe(trn);
  expect(idToken.trn_lookup_status).toBe("found");
  expect(idToken.verified).toBe("true");
  expect(JSON.parse(idToken.aud)).toContain("aytq-sample");
  // Our own subject, not One Login's.
  expect(idToken.sub).toMatch(/\S/);
  const userinfo = await claims(page, "Claims from userinfo");
  expect(userinfo.sub).toBe(idToken.sub);
  expect(userinfo.trn).toBe(trn);

  // Single sign-on: the second service gets them back without a sign-in page.
  await page.goto(sample("npq"));
  await page.getByRole("link", { name: "Start now" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("You are signed in");
  const second = await claims(page, "Claims in the ID token");
  expect(second.sub).toBe(idToken.sub);
  expect(JSON.parse(second.aud)).toContain("npq-sample");
  expect(second.trn).toBe(trn);
});

test("a teacher nobody can match returns to a service with an optional TRN as pending, but waits for support for a service that needs one", async ({
  page,
}) => {
  const teacher = newTeacher("Morgan", uniqueName(), [14, 3, 1979]);
  await startAt(page, "npq");
  // NPQ offers DfE Identity accounts too: the choice of the two ways in comes first.
  await page.getByRole("button", { name: "Continue with GOV.UK One Login" }).click();
  await pickTeacher(page, teacher, "Signed in (no identity check)");
  await pickTeacher(page, teacher, "Signed in and identity proven");
  await expect(page).toHaveURL(/\/connect$/);
  const reference = await askForSupportFromConnect(page);
  expect(reference).toMatch(/^TRS-/);
  await continueTo(page, NPQ);
  const idToken = await claims(page, "Claims in the ID token");
  expect(idToken.trn_lookup_status).toBe("pending");
  expect(idToken.trn).toBeUndefined();
  expect(idToken.verified).toBe("true");

  // The service that needs a TRN: signed in already, but their record is not found yet, so no way back to it.
  await startAt(page, "aytq");
  await expect(page).toHaveURL(/\/request-pending$/);
  await expect(page.getByRole("button", { name: `Continue to ${AYTQ}` })).toHaveCount(0);
  await expect(page.locator("main")).toContainText(AYTQ);
  await expectNoAxeViolations(page);
});

test("an awarding service records QTS, and the teacher follows the email's link through the service to be connected by its TRN token", async ({
  page,
  browser,
  baseURL,
}) => {
  // `qts-award`'s record has no QTS and no National Insurance number, and their One Login email is not on it: only
  // the token (or the questions) can connect them.
  const trn = await personaTrn("qts-award");

  // An administrator gives the awarding service an API key in the console.
  const admin = await newPage(browser, baseURL!);
  await staffSignIn(admin, "admin");
  await admin.goto("/support/api-clients/new");
  await admin.getByLabel("Service name").fill(`Awarding service ${uniqueName()}`);
  await admin.getByLabel("qts:write", { exact: true }).check();
  await admin.getByRole("button", { name: "Add API client" }).click();
  const key = (await admin.getByTestId("secret").innerText()).trim();

  // The awarding service's server reports the award.
  const award = await fetch(`${baseURL}/api/v1/teachers/${trn}/qts`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify({ awarded: "2026-07-01" }),
  });
  expect(award.status).toBe(201);
  expect((await award.json()).emailSent).toBe(true);

  // The email, in the development mailbox, with its link.
  await admin.goto("/dev/mailbox");
  const email = admin.getByTestId("email").filter({ hasText: "You have been awarded qualified teacher status" });
  await expect(email).toHaveCount(1);
  const link = (await email.innerText()).match(/http\S+trn_token=[\w-]+/)![0];
  expect(link).toContain("/aytq/sign-in?trn_token=");
  await admin.context().close();

  // The teacher follows it: the service sends them to Teacher ID with the token, One Login verifies them, and
  // the token connects them without a question.
  await page.goto(link);
  await pick(page, "(qts-award)", "Signed in (no identity check)");
  await pick(page, "(qts-award)", "Signed in and identity proven");
  await expect(page).toHaveURL(/\/connected$/);
  await continueTo(page, AYTQ);
  const idToken = await claims(page, "Claims in the ID token");
  expect(idToken.trn).toBe(trn);
  expect(idToken.trn_lookup_status).toBe("found");
});
