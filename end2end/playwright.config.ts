// Browser tests in Debian's Chromium, each spec run twice: with JavaScript (the page hydrates) and without (the
// server-rendered HTML and plain forms must do everything). `./test` builds the site and sets E2E_SERVER.
// Each project has its own instance of the service and its own database, so a persona connected to a record in
// one project is still unconnected in the other; both share one One Login stand-in.
import { defineConfig } from "@playwright/test";
import { execSync } from "node:child_process";

const port = Number(process.env.E2E_PORT ?? 3100);
const standinPort = port + 1;
const noJsPort = port + 2;
const base = `http://127.0.0.1:${port}`;
const noJsBase = `http://127.0.0.1:${noJsPort}`;
const issuer = `http://127.0.0.1:${standinPort}/`;
// The sample services, one per project: their own ports and the test key pair of the Rust tests.
const samplePort = port + 3;
const noJsSamplePort = port + 4;
const sampleKey = "server/tests/fixtures/rp-test-key.pem";

/** The service on `servicePort`, with its own database, registered with the stand-in. */
function service(servicePort: number, database: string, samplePort: number) {
  const url = `http://127.0.0.1:${servicePort}`;
  const server = process.env.E2E_SERVER ?? "target/debug/server";
  // The stand-in's staff personas get the roles their names suggest before the service starts.
  const staff = [
    ["ada.adeyemi@education.gov.uk", "administrator", "Ada Adeyemi"],
    ["sam.okafor@education.gov.uk", "support_officer", "Sam Okafor"],
    ["priya.shah@education.gov.uk", "support_officer", "Priya Shah"],
    ["vic.evans@education.gov.uk", "viewer", "Vic Evans"],
  ]
    .map(([email, role, name]) => `${server} staff add --email ${email} --role ${role} --name '${name}'`)
    .join(" && ");
  return {
    command: `sh -c "${server} migrate && ${staff} && scripts/sample-clients ${server} http://127.0.0.1:${samplePort} ${sampleKey} >/dev/null && exec ${server}"`,
    cwd: "..",
    url: `${url}/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      LISTEN_ADDR: `127.0.0.1:${servicePort}`,
      PUBLIC_BASE_URL: url,
      DATABASE_URL: process.env[`E2E_DATABASE_URL_${database.toUpperCase()}`] ?? `sqlite://target/e2e/${database}.sqlite`,
      SEED_RECORDS: "3000",
      LEPTOS_SITE_ROOT: "target/site",
      LOG_LEVEL: "warn",
      ONE_LOGIN_ISSUER: issuer,
      ONE_LOGIN_CLIENT_ID: "teacher-id-e2e",
      ONE_LOGIN_PRIVATE_KEY_FILE: "server/tests/fixtures/rp-test-key.pem",
      STAFF_OIDC_ISSUER: issuer,
      STAFF_OIDC_CLIENT_ID: "teacher-id-staff-e2e",
      STAFF_OIDC_CLIENT_SECRET: "staff-e2e-secret",
      // The QTS email's link goes through the sample AYTQ, as under ./run.
      QTS_EMAIL_LINK: `http://127.0.0.1:${samplePort}/aytq/sign-in`,
    },
  };
}
/** The sample services (end2end/sample-service), relying parties of the service on `servicePort`. */
function sampleService(samplePort: number, servicePort: number) {
  return {
    command: "node end2end/sample-service/server.mjs",
    cwd: "..",
    url: `http://127.0.0.1:${samplePort}/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      SAMPLE_LISTEN: `127.0.0.1:${samplePort}`,
      SAMPLE_PUBLIC_URL: `http://127.0.0.1:${samplePort}`,
      TEACHER_ID_ISSUER: `http://127.0.0.1:${servicePort}`,
      SAMPLE_KEY_FILE: sampleKey,
    },
  };
}
const chromium = process.env.CHROMIUM_PATH ?? execSync("command -v chromium").toString().trim();

export default defineConfig({
  testDir: "./tests",
  fullyParallel: true,
  workers: 2,
  retries: 0,
  reporter: [["list"]],
  timeout: 30_000,
  // An assertion waits up to 10 s (Playwright's default is 5): on this 2-core machine two workers, two services,
  // Chromium and axe share the cores, and a form post that connects a teacher once took longer than 5 s to land
  // (journey.spec, stop 23). It still fails when what it waits for never happens.
  expect: { timeout: 10_000 },
  use: {
    launchOptions: {
      executablePath: chromium,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
  },
  projects: [
    { name: "js", use: { javaScriptEnabled: true, baseURL: base }, grepInvert: /@no-js-only/ },
    { name: "no-js", use: { javaScriptEnabled: false, baseURL: noJsBase }, grepInvert: /@js-only/ },
  ],
  // The One Login stand-in (a real OpenID provider) and the service, with the test key pair from the Rust tests.
  webServer: [
    {
      command: "target/debug/onelogin-standin",
      cwd: "..",
      url: `${issuer}.well-known/openid-configuration`,
      reuseExistingServer: false,
      timeout: 60_000,
      env: {
        STANDIN_LISTEN: `127.0.0.1:${standinPort}`,
        STANDIN_CLIENT_ID: "teacher-id-e2e",
        STANDIN_REDIRECT_URIS: `${base}/auth/callback,${noJsBase}/auth/callback`,
        STANDIN_POST_LOGOUT_REDIRECT_URIS: `${base}/signed-out,${noJsBase}/signed-out`,
        STANDIN_CLIENT_PUBLIC_KEY_FILE: "server/tests/fixtures/rp-test-key.pub.pem",
        STANDIN_STAFF_CLIENT_ID: "teacher-id-staff-e2e",
        STANDIN_STAFF_CLIENT_SECRET: "staff-e2e-secret",
        STANDIN_STAFF_REDIRECT_URIS: `${base}/support/auth/callback,${noJsBase}/support/auth/callback`,
        RUST_LOG: "warn",
      },
    },
    service(port, "js", samplePort),
    service(noJsPort, "nojs", noJsSamplePort),
    sampleService(samplePort, port),
    sampleService(noJsSamplePort, noJsPort),
  ],
});
