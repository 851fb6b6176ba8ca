// Load on a running cluster (scripts/cluster bench): USERS simulated people for SECONDS, through HAProxy, as plain
// HTTP clients with a cookie jar each (no browser: what the service sees is the same forms and redirects a browser
// without JavaScript sends). Nine in ten are teachers walking the whole journey as new people (sign in, prove their
// identity at the One Login stand-in, answer "No" to the NINO and TRN questions, ask for support); one in ten are
// officers reading the console (dashboard, a search, a task). Each person waits THINK_MS (default 1000) between
// pages, as people do. Reports per step: count, p50, p99, max, 5xx; the instances' RSS over time.
//
//   node scripts/cluster-bench.mjs BASE_URL SECONDS USERS RUN_DIR
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

const [base, secondsArg, usersArg, runDir] = process.argv.slice(2);
const seconds = Number(secondsArg);
const users = Number(usersArg);
const think = Number(process.env.THINK_MS ?? 1000);
const deadline = Date.now() + seconds * 1000;

/** Per step: latencies (ms) of the service's answers through HAProxy, and the statuses seen. */
const steps = new Map();
const errors = new Map();
let completedJourneys = 0;
let consoleVisits = 0;

function record(step, ms, status) {
  let s = steps.get(step);
  if (!s) steps.set(step, (s = { times: [], statuses: {} }));
  s.times.push(ms);
  s.statuses[status] = (s.statuses[status] ?? 0) + 1;
}

function noteError(what) {
  errors.set(what, (errors.get(what) ?? 0) + 1);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const jitter = () => sleep(think * (0.5 + Math.random()));

/** A person: their cookies, and requests that follow redirects by hand (timing each request of ours). */
class Person {
  constructor() {
    this.cookies = new Map();
  }
  cookieHeader(url) {
    // Every server here is 127.0.0.1; cookies are per host, not per port, as in a browser.
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
  keep(response) {
    for (const c of response.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(";");
      const at = pair.indexOf("=");
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = attrs.some((a) => /max-age=0/i.test(a.trim())) || value === "";
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  /** One request; `step` names it in the report when it goes to the service (not the stand-in). */
  async request(url, { method = "GET", form, step } = {}) {
    const headers = { cookie: this.cookieHeader(url), "user-agent": "cluster-bench" };
    let body;
    if (form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      headers.origin = new URL(url).origin;
      body = new URLSearchParams(form).toString();
    }
    const started = performance.now();
    const response = await fetch(url, { method, headers, body, redirect: "manual" });
    const text = await response.text();
    const ms = performance.now() - started;
    this.keep(response);
    if (url.startsWith(base)) record(step ?? `${method} ${new URL(url).pathname.replace(/TRS-\d+/, "{reference}")}`, ms, response.status);
    return { status: response.status, location: response.headers.get("location"), text, url };
  }
  /** Requests `url`, then follows redirects; at the stand-in's picker, chooses with `pick`. The last page. */
  async walk(url, options = {}, pick) {
    let page = await this.request(url, options);
    for (let hops = 0; hops < 20; hops++) {
      if (page.status >= 300 && page.status < 400 && page.location) {
        page = await this.request(new URL(page.location, page.url).toString());
        continue;
      }
      if (page.status === 200 && /name="request_id"/.test(page.text) && pick) {
        const picker = form(page, 'name="request_id"');
        page = await this.request(picker.action, { method: "POST", form: { ...picker.hidden, ...pick() } });
        continue;
      }
      return page;
    }
    throw new Error(`too many redirects from ${url}`);
  }
  csrf() {
    return this.cookies.get("tid_csrf");
  }
}

/** The first POST form in the page whose button says `button`: its action and hidden fields. */
function form(page, button) {
  for (const match of page.text.matchAll(/<form[^>]*method="post"[^>]*>([\s\S]*?)<\/form>/g)) {
    if (!match[1].includes(button)) continue;
    const action = (match[0].match(/action="([^"]*)"/) ?? [, new URL(page.url).pathname])[1];
    const hidden = {};
    for (const input of match[1].matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
      const name = input[0].match(/name="([^"]+)"/)?.[1];
      const value = input[0].match(/value="([^"]*)"/)?.[1] ?? "";
      if (name) hidden[name] = value;
    }
    return { action: new URL(action.replaceAll("&amp;", "&"), page.url).toString(), hidden };
  }
  const h1 = page.text.match(/<h1[^>]*>([^<]*)/)?.[1]?.trim() ?? "no heading";
  throw new Error(`no form with "${button}" on ${page.url} (${page.status}, "${h1}")`);
}

/** The radio field of the page's form (the question's name) and the value of the choice labelled `label`. */
function radio(page, label) {
  const inputs = [...page.text.matchAll(/<input[^>]*type="radio"[^>]*>\s*<label[^>]*>\s*([^<]*?)\s*<\/label>/g)];
  for (const input of inputs) {
    if (input[1] === label) {
      return { [input[0].match(/name="([^"]+)"/)[1]]: input[0].match(/value="([^"]*)"/)[1] };
    }
  }
  throw new Error(`no radio "${label}" on ${page.url}`);
}

async function submit(person, page, button, fields = {}) {
  const f = form(page, button);
  await jitter();
  return person.walk(f.action, { method: "POST", form: { ...f.hidden, csrf_token: person.csrf() ?? "", ...fields } });
}

let serial = 0;
function expectPage(page, path, what) {
  if (new URL(page.url).pathname !== path) {
    throw new Error(`${what}: expected ${path}, got ${new URL(page.url).pathname} (${page.status})`);
  }
}

async function teacherJourney() {
  const person = new Person();
  const n = `${process.pid}${Date.now().toString(36)}${(serial++).toString(36)}`;
  const letters = n.replace(/\d/g, (d) => "abcdefghij"[d]);
  const who = { first_name: "Bench", last_name: `Zz${letters}`, "dob-day": "7", "dob-month": "7", "dob-year": "1977", email: `bench.${letters}@example.com` };
  await person.walk(`${base}/`);
  await jitter();
  let outcomes = ["authenticated", "identity-verified"];
  let page = await person.walk(`${base}/sign-in`, {}, () => ({ persona: "custom", outcome: outcomes.shift() ?? "identity-verified", ...who }));
  expectPage(page, "/connect", "after sign-in");
  // "Continue" on /connect is a link.
  await jitter();
  page = await person.walk(`${base}/connect/nino`);
  for (const question of ["nino", "trn"]) {
    expectPage(page, `/connect/${question}`, "question");
    page = await submit(person, page, "Continue", radio(page, "No"));
  }
  expectPage(page, "/connect/not-found", "after the questions");
  await jitter();
  page = await person.walk(`${base}/connect/check-answers`);
  page = await submit(person, page, "Get support");
  expectPage(page, "/connect/support-requested", "after asking for support");
  const reference = page.text.match(/TRS-\d{6,}/)?.[0];
  if (reference) recentReferences.push(reference);
  if (recentReferences.length > 50) recentReferences.shift();
  completedJourneys++;
}

const recentReferences = [];

async function officerVisits() {
  const person = new Person();
  let page = await person.walk(`${base}/support/sign-in`, {}, () => ({ persona: "officer" }));
  expectPage(page, "/support", "after staff sign-in");
  while (Date.now() < deadline) {
    await jitter();
    await person.walk(`${base}/support?status=all&sort=requested&direction=desc`);
    await jitter();
    await person.walk(`${base}/support?q=Bench&status=all`, { step: "GET /support?q= (search)" });
    const reference = recentReferences[Math.floor(Math.random() * recentReferences.length)];
    if (reference) {
      await jitter();
      await person.walk(`${base}/support/tasks/${reference}`);
    }
    consoleVisits++;
  }
}

async function user(i) {
  // Start spread over the first 10 seconds, not all at once.
  await sleep((i / users) * 10_000);
  while (Date.now() < deadline) {
    try {
      if (i % 10 === 0) await officerVisits();
      else await teacherJourney();
    } catch (e) {
      noteError(String(e.message ?? e).replace(/TRS-\d+|Zz[a-z]+/g, "…").slice(0, 160));
      await sleep(1000);
    }
  }
}

/** Resident memory of each instance (kB), from /proc. */
function rss() {
  const out = {};
  for (const n of [1, 2, 3]) {
    try {
      const pid = readFileSync(`${runDir}/instance-${n}.pid`, "utf8").trim();
      out[`i${n}`] = Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)[1]);
    } catch {
      out[`i${n}`] = null;
    }
  }
  return out;
}

/** CPU seconds so far: the whole machine (busy, all cores) and each part of the cluster, from /proc. */
const tick = 100; // USER_HZ on Linux
function pidOf(name) {
  try {
    return Number(readFileSync(`${runDir}/${name}.pid`, "utf8").trim());
  } catch {
    return null;
  }
}
function cpuOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    // utime and stime, fields 14 and 15 of stat (counted after the command name).
    return (Number(fields[11]) + Number(fields[12])) / tick;
  } catch {
    return 0;
  }
}
function childrenOf(pid) {
  const out = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1].split(" ");
      if (Number(fields[1]) === pid) out.push(Number(entry));
    } catch {}
  }
  return out;
}
function cpu() {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = line[3] + line[4];
  const total = line.slice(0, 8).reduce((a, b) => a + b, 0);
  const parts = { machine: (total - idle) / tick };
  for (const name of ["instance-1", "instance-2", "instance-3", "haproxy", "standin", "notify"]) parts[name] = cpuOf(pidOf(name));
  try {
    const pgDir = readFileSync(`${runDir}/pg_dir`, "utf8").trim();
    const postmaster = Number(readFileSync(`${pgDir}/data/postmaster.pid`, "utf8").split("\n")[0]);
    // Backends that have exited are counted in the postmaster's children times only at the end; live ones here.
    parts.postgresql = [postmaster, ...childrenOf(postmaster)].reduce((n, p) => n + cpuOf(p), 0);
  } catch {
    parts.postgresql = 0;
  }
  const own = process.cpuUsage();
  parts["load generator"] = (own.user + own.system) / 1e6;
  return parts;
}
const cpuBefore = cpu();

const memory = [];
const started = Date.now();
const sampler = setInterval(() => memory.push({ s: Math.round((Date.now() - started) / 1000), ...rss() }), 30_000);
memory.push({ s: 0, ...rss() });
await Promise.all(Array.from({ length: users }, (_, i) => user(i)));
clearInterval(sampler);
memory.push({ s: Math.round((Date.now() - started) / 1000), ...rss() });

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const rows = [...steps].sort((a, b) => b[1].times.length - a[1].times.length).map(([step, s]) => {
  const t = [...s.times].sort((a, b) => a - b);
  const fivexx = Object.entries(s.statuses).filter(([code]) => Number(code) >= 500).reduce((n, [, c]) => n + c, 0);
  return { step, count: t.length, p50: pct(t, 0.5), p99: pct(t, 0.99), max: t[t.length - 1], fivexx, statuses: s.statuses };
});
const total = rows.reduce((n, r) => n + r.count, 0);
// People finish the journey they are on when time is up, so the run lasts a little longer than asked.
const elapsed = (Date.now() - started) / 1000;
const total5xx = rows.reduce((n, r) => n + r.fivexx, 0);
console.log(`${users} users for ${seconds} s (${elapsed.toFixed(0)} s with the last journeys) through ${base} (think time ${think} ms ±50%)`);
console.log(`journeys completed ${completedJourneys}, console rounds ${consoleVisits}; requests ${total} (${(total / elapsed).toFixed(0)}/s); 5xx ${total5xx}`);
console.log("step                                      count     p50 ms   p99 ms   max ms   5xx  statuses");
for (const r of rows) {
  console.log(`${r.step.padEnd(40)} ${String(r.count).padStart(7)} ${r.p50.toFixed(1).padStart(9)} ${r.p99.toFixed(1).padStart(8)} ${r.max.toFixed(0).padStart(8)} ${String(r.fivexx).padStart(5)}  ${JSON.stringify(r.statuses)}`);
}
console.log("RSS (MB) by instance over time:");
for (const m of memory) console.log(`  ${String(m.s).padStart(4)} s  ${[1, 2, 3].map((n) => `i${n} ${m[`i${n}`] === null ? "-" : (m[`i${n}`] / 1024).toFixed(0)}`).join("  ")}`);
const cpuAfter = cpu();
const used = Object.fromEntries(Object.keys(cpuAfter).map((k) => [k, cpuAfter[k] - cpuBefore[k]]));
const ours = Object.entries(used).filter(([k]) => k !== "machine").reduce((n, [, v]) => n + v, 0);
console.log(`CPU seconds over ${elapsed.toFixed(0)} s (2 cores = ${(2 * elapsed).toFixed(0)} available): machine busy ${used.machine.toFixed(0)}, of which`);
for (const [k, v] of Object.entries(used)) if (k !== "machine") console.log(`  ${k.padEnd(16)} ${v.toFixed(1)}`);
console.log(`  ${"anything else".padEnd(16)} ${(used.machine - ours).toFixed(1)} (other people's work on this machine, the kernel, exited database backends)`);
if (errors.size) {
  console.log("journeys or visits that stopped early:");
  for (const [what, count] of errors) console.log(`  ${count} × ${what}`);
}
writeFileSync(`${runDir}/bench.json`, JSON.stringify({ users, seconds, think, completedJourneys, consoleVisits, rows, memory, cpu: used, errors: Object.fromEntries(errors) }, null, 1));
process.exit(total5xx === 0 && errors.size === 0 ? 0 : 1);
