// What the cluster tests need besides a browser: which instance answered each request (HAProxy's X-Served-By
// header), `scripts/cluster` to kill and start instances and steer HAProxy, what the Notify fake accepted, and SQL
// on the cluster's PostgreSQL.
import { expect, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(__dirname, "../..");
export const port = Number(process.env.CLUSTER_PORT);
const dir = path.resolve(root, process.env.CLUSTER_DIR ?? "target/cluster");
export const notifyUrl = `http://127.0.0.1:${port + 5}`;
export const standinUrl = `http://127.0.0.1:${port + 4}`;

/** The address of instance `n` (1-3) itself, not through HAProxy. */
export function instanceUrl(n: number): string {
  return `http://127.0.0.1:${port + n}`;
}

/** Runs `scripts/cluster` with `args`; its output, or an exception if it fails. */
export function cluster(...args: string[]): string {
  return execFileSync("scripts/cluster", args, { cwd: root, encoding: "utf8" });
}

/** The instances HAProxy sends traffic to (UP), e.g. ["i1", "i2", "i3"]. */
export function upInstances(): string[] {
  return cluster("haproxy", "show stat")
    .split("\n")
    .map((line) => line.split(","))
    .filter((f) => f[0] === "instances" && /^i\d$/.test(f[1]) && f[17] === "UP")
    .map((f) => f[1]);
}

/** Waits until HAProxy sees all three instances healthy (after one was killed and started again). */
export async function expectAllUp() {
  await expect.poll(upInstances, { timeout: 20_000, message: "HAProxy sees three healthy instances" }).toEqual(["i1", "i2", "i3"]);
}

/** One response through HAProxy: what was asked for, which instance answered, and when. */
export type Served = { method: string; url: string; status: number; by: string; navigation: boolean; dynamic: boolean; at: number };

/** Records every response `page` gets from HAProxy (the stand-in's own pages have no X-Served-By). */
export function recordServed(page: Page): Served[] {
  const served: Served[] = [];
  page.on("response", (response) => {
    const by = response.headers()["x-served-by"];
    if (!by) return;
    const request = response.request();
    served.push({
      method: request.method(),
      url: response.url(),
      status: response.status(),
      by,
      navigation: request.isNavigationRequest() && request.frame() === page.mainFrame(),
      // Pages and fetches, which the service answers each time; scripts, styles and fonts may come from the
      // browser's cache, with the header of whichever instance served them first.
      dynamic: ["document", "fetch", "xhr", "eventsource"].includes(request.resourceType()),
      at: Date.now(),
    });
  });
  return served;
}

/** The instance number (1-3) that answered the page's last navigation. */
export function lastPageServedBy(served: Served[]): number {
  const pages = served.filter((s) => s.navigation);
  expect(pages.length, "a page came through HAProxy").toBeGreaterThan(0);
  return Number(pages[pages.length - 1].by.slice(1));
}

/** An email the Notify fake accepted, and which instance's outbox worker sent it. */
export type Sent = { reference: string; template_id: string; task_reference: string | null; instance: string | null };

export async function notifySent(): Promise<Sent[]> {
  const response = await fetch(`${notifyUrl}/fake/sent`);
  expect(response.ok).toBe(true);
  return (await response.json()) as Sent[];
}

/** Runs SQL on the cluster's PostgreSQL with psql; its unaligned output. */
export function sql(statement: string): string {
  const env = readFileSync(path.join(dir, "env"), "utf8");
  const url = env.match(/^CLUSTER_DATABASE_URL=(.*)$/m)![1];
  return execFileSync("psql", [url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", statement], { encoding: "utf8" });
}

/** The PID of instance `n`. */
export function instancePid(n: number): number {
  return Number(readFileSync(path.join(dir, `instance-${n}.pid`), "utf8").trim());
}
