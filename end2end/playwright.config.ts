// Browser tests in Debian's Chromium, each spec run twice: with JavaScript (the page hydrates) and without (the
// server-rendered HTML and plain forms must do everything). `./test` builds the site and sets E2E_SERVER.
import { defineConfig } from "@playwright/test";
import { execSync } from "node:child_process";

const port = Number(process.env.E2E_PORT ?? 3100);
const standinPort = port + 1;
const base = `http://127.0.0.1:${port}`;
const issuer = `http://127.0.0.1:${standinPort}/`;
const chromium = process.env.CHROMIUM_PATH ?? execSync("command -v chromium").toString().trim();

export default defineConfig({
  testDir: "./tests",
  fullyParallel: true,
  workers: 2,
  retries: 0,
  reporter: [["list"]],
  timeout: 30_000,
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    launchOptions: {
      executablePath: chromium,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
  },
  projects: [
    { name: "js", use: { javaScriptEnabled: true }, grepInvert: /@no-js-only/ },
    { name: "no-js", use: { javaScriptEnabled: false }, grepInvert: /@js-only/ },
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
        STANDIN_REDIRECT_URIS: `${base}/auth/callback`,
        STANDIN_POST_LOGOUT_REDIRECT_URIS: `${base}/signed-out`,
        STANDIN_CLIENT_PUBLIC_KEY_FILE: "server/tests/fixtures/rp-test-key.pub.pem",
        RUST_LOG: "warn",
      },
    },
    {
      command: process.env.E2E_SERVER ?? "target/debug/server",
      cwd: "..",
      url: `${base}/health`,
      reuseExistingServer: false,
      timeout: 60_000,
      env: {
        LISTEN_ADDR: `127.0.0.1:${port}`,
        PUBLIC_BASE_URL: base,
        DATABASE_URL: process.env.E2E_DATABASE_URL ?? "sqlite://target/e2e/teacher-id.sqlite",
        SEED_RECORDS: "3000",
        LEPTOS_SITE_ROOT: "target/site",
        LOG_LEVEL: "warn",
        ONE_LOGIN_ISSUER: issuer,
        ONE_LOGIN_CLIENT_ID: "teacher-id-e2e",
        ONE_LOGIN_PRIVATE_KEY_FILE: "server/tests/fixtures/rp-test-key.pem",
      },
    },
  ],
});
