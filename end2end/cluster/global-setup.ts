// Starts the cluster before the tests and stops it after them (also when they fail: Playwright runs the returned
// teardown either way, and `./test` runs `scripts/cluster stop` again in case Playwright itself was stopped).
import { execFileSync } from "node:child_process";
import path from "node:path";

const root = path.resolve(__dirname, "../..");

export default function globalSetup() {
  // While writing tests: run them against a cluster already started with `scripts/cluster start`.
  if (process.env.CLUSTER_REUSE) return;
  execFileSync("scripts/cluster", ["start"], { cwd: root, stdio: "inherit" });
  return () => {
    execFileSync("scripts/cluster", ["stop"], { cwd: root, stdio: "inherit" });
  };
}
