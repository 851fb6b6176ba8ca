// Browser tests in Debian's Chromium, each spec run twice: with JavaScript (the page hydrates) and without (the
// server-rendered HTML and plain forms must do everything). `./test` builds the site and sets E2E_SERVER.
import { defineConfig } from "@playwright/test";
import { execSync } from "node:child_process";

const port = Number(process.env.E2E_PORT ?? 3100);
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
  webServer: {
    command: process.env.E2E_SERVER ?? "target/debug/server",
    cwd: "..",
    url: `http://127.0.0.1:${port}/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      LISTEN_ADDR: `127.0.0.1:${port}`,
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: process.env.E2E_DATABASE_URL ?? "sqlite://target/e2e/teacher-id.sqlite",
      SEED_RECORDS: "200",
      LEPTOS_SITE_ROOT: "target/site",
      LOG_LEVEL: "warn",
    },
  },
});
