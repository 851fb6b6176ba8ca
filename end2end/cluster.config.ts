// The cluster tests (issue 14): three instances of the service on one PostgreSQL behind HAProxy, with the One Login
// stand-in and a Notify-compatible fake, all started by `scripts/cluster start` for the run and stopped after it.
// Every test goes through HAProxy, as a user would; they stop and start instances, so they run one at a time.
// `./test` runs them after the browser tests (the debug server, the stand-in and target/site must be built).
import { defineConfig } from "@playwright/test";
import { execSync } from "node:child_process";

// The cluster's ports start here (HAProxy; then the instances, the stand-in, the Notify fake, PostgreSQL).
process.env.CLUSTER_PORT ??= "3200";
const chromium = process.env.CHROMIUM_PATH ?? execSync("command -v chromium").toString().trim();

export default defineConfig({
  testDir: "./cluster",
  globalSetup: "./cluster/global-setup.ts",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  timeout: 60_000,
  use: {
    baseURL: `http://127.0.0.1:${process.env.CLUSTER_PORT}`,
    javaScriptEnabled: true,
    launchOptions: {
      executablePath: chromium,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
  },
});
