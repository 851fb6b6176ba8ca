// Sample services: two small relying parties of Teacher ID, so signing in for another DfE service can be walked
// offline (`./run` starts it) and tested in a browser (the Playwright suite). They sign in with `openid-client`, an
// OpenID Certified relying-party library that is not our code, so a test passing here says Teacher ID speaks the
// protocol as others read it, not as we do.
//
//   /aytq  "Access your teaching qualifications (sample)": trn = required
//   /npq   "Register for an NPQ (sample)": trn = optional
//
// Each authenticates at the token endpoint with private_key_jwt: the key is SAMPLE_KEY_FILE (PKCS #8 PEM) and its
// public half is published at /jwks.json (the sample AYTQ is registered with that URL, the sample NPQ with the key
// itself). Sessions are kept in memory: this is a demonstration, not a service.
//
// `node server.mjs --print-jwks` prints the public key set and stops (scripts/sample-clients registers it).
//
// Environment: SAMPLE_LISTEN (host:port, default 127.0.0.1:3200), SAMPLE_PUBLIC_URL (default http://localhost:3200),
// TEACHER_ID_ISSUER (Teacher ID's PUBLIC_BASE_URL, default http://localhost:3000), SAMPLE_KEY_FILE (required).
import http from "node:http";
import crypto from "node:crypto";
import fs from "node:fs";
import * as oidc from "openid-client";

const [host, port] = (process.env.SAMPLE_LISTEN ?? "127.0.0.1:3200").split(":");
const publicUrl = (process.env.SAMPLE_PUBLIC_URL ?? "http://localhost:3200").replace(/\/$/, "");
const issuer = process.env.TEACHER_ID_ISSUER ?? "http://localhost:3000";
const keyPem = fs.readFileSync(process.env.SAMPLE_KEY_FILE ?? "data/keys/sample-service.pem", "utf8");

const publicJwk = crypto.createPublicKey(keyPem).export({ format: "jwk" });
const kid = crypto.createHash("sha256").update(JSON.stringify({ e: publicJwk.e, kty: "RSA", n: publicJwk.n })).digest("base64url");
const jwk = { ...publicJwk, kid, alg: "RS256", use: "sig" };
if (process.argv.includes("--print-jwks")) {
  console.log(JSON.stringify({ keys: [jwk] }));
  process.exit(0);
}
const privateKey = await crypto.subtle.importKey(
  "pkcs8",
  crypto.createPrivateKey(keyPem).export({ format: "der", type: "pkcs8" }),
  { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
  false,
  ["sign"],
);

export const SERVICES = {
  aytq: {
    clientId: "aytq-sample",
    name: "Access your teaching qualifications (sample)",
    scope: "openid email profile teaching_record",
  },
  npq: {
    clientId: "npq-sample",
    name: "Register for an NPQ (sample)",
    scope: "openid email profile teaching_record",
  },
};

// Discovery is fetched when first needed and again after a failure, so the order the processes start in does not
// matter.
const configs = new Map();
async function config(service) {
  if (!configs.has(service)) {
    const pending = oidc
      .discovery(new URL(issuer), SERVICES[service].clientId, undefined, oidc.PrivateKeyJwt({ key: privateKey, kid }), {
        execute: issuer.startsWith("http://") ? [oidc.allowInsecureRequests] : [],
      })
      .catch((e) => {
        configs.delete(service);
        throw e;
      });
    configs.set(service, pending);
  }
  return configs.get(service);
}

/** Sessions: cookie value → { [service]: { pending?, signedIn? } }. */
const sessions = new Map();
const COOKIE = "sample_service_session";

function session(req, res) {
  const cookies = Object.fromEntries(
    (req.headers.cookie ?? "").split(";").map((c) => c.trim().split("=")).filter(([k, v]) => k && v),
  );
  let id = cookies[COOKIE];
  if (!id || !sessions.has(id)) {
    id = crypto.randomBytes(32).toString("base64url");
    sessions.set(id, {});
    res.setHeader("Set-Cookie", `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax`);
  }
  return sessions.get(id);
}

const escape = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

function page(res, status, title, body) {
  res.writeHead(status, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
  res.end(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>body{font-family:arial,sans-serif;max-width:40em;margin:0 auto;padding:1em;color:#0b0c0c;line-height:1.4}
header{border-bottom:10px solid #1d70b8;margin-bottom:1em;padding:.5em 0}a{color:#1d70b8}
.button{display:inline-block;background:#00703c;color:#fff;padding:.5em 1em;text-decoration:none;font-weight:bold}
table{border-collapse:collapse;width:100%}th,td{text-align:left;border-bottom:1px solid #b1b4b6;padding:.4em;word-break:break-all}
.sample{background:#fff7bf;padding:.5em;margin-bottom:1em}</style></head>
<body><header><strong>${escape(title)}</strong></header><main>
<p class="sample">This is a sample service for trying Teacher ID. It is not a real service.</p>
${body}</main></body></html>`);
}

function redirect(res, location) {
  res.writeHead(302, { Location: location, "Cache-Control": "no-store" });
  res.end();
}

function claimsTable(caption, claims) {
  const rows = Object.entries(claims)
    .map(([k, v]) => `<tr><th scope="row">${escape(k)}</th><td>${escape(typeof v === "object" ? JSON.stringify(v) : v)}</td></tr>`)
    .join("");
  return `<table><caption><h2>${escape(caption)}</h2></caption><tbody>${rows}</tbody></table>`;
}

async function handle(req, res) {
  const url = new URL(req.url, publicUrl);
  if (url.pathname === "/jwks.json") {
    res.writeHead(200, { "Content-Type": "application/json" });
    return res.end(JSON.stringify({ keys: [jwk] }));
  }
  if (url.pathname === "/health") {
    res.writeHead(200, { "Content-Type": "text/plain" });
    return res.end("ok");
  }
  const [, service, action = ""] = url.pathname.split("/");
  const meta = SERVICES[service];
  if (!meta) {
    const links = Object.entries(SERVICES)
      .map(([path, s]) => `<li><a href="/${path}/">${escape(s.name)}</a></li>`)
      .join("");
    return page(res, url.pathname === "/" ? 200 : 404, "Sample services", `<ul>${links}</ul>`);
  }
  const mine = (session(req, res)[service] ??= {});
  const base = `${publicUrl}/${service}`;
  switch (action) {
    case "": {
      if (mine.signedIn) {
        const { idToken, userinfo } = mine.signedIn;
        return page(
          res,
          200,
          meta.name,
          `<h1>You are signed in</h1>
${claimsTable("Claims in the ID token", idToken)}
${claimsTable("Claims from userinfo", userinfo)}
<p><a href="/${service}/sign-out">Sign out</a></p>`,
        );
      }
      return page(res, 200, meta.name, `<h1>${escape(meta.name)}</h1><p><a class="button" href="/${service}/sign-in">Start now</a></p>`);
    }
    case "sign-in": {
      const cfg = await config(service);
      const verifier = oidc.randomPKCECodeVerifier();
      mine.pending = { verifier, state: oidc.randomState(), nonce: oidc.randomNonce() };
      const params = {
        redirect_uri: `${base}/callback`,
        scope: meta.scope,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: "S256",
        state: mine.pending.state,
        nonce: mine.pending.nonce,
      };
      // A TRN token from a QTS email's link is passed on to Teacher ID (§7.2).
      const trnToken = url.searchParams.get("trn_token");
      if (trnToken) params.trn_token = trnToken;
      return redirect(res, oidc.buildAuthorizationUrl(cfg, params).href);
    }
    case "callback": {
      const pending = mine.pending;
      delete mine.pending;
      const error = url.searchParams.get("error");
      if (error) {
        return page(res, 200, meta.name, `<h1>You were not signed in</h1><p>Teacher ID answered <code>${escape(error)}</code>: ${escape(url.searchParams.get("error_description") ?? "")}</p><p><a href="/${service}/">Start again</a></p>`);
      }
      if (!pending) return redirect(res, `/${service}/`);
      const cfg = await config(service);
      const tokens = await oidc.authorizationCodeGrant(cfg, url, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
      });
      const idToken = tokens.claims();
      const userinfo = await oidc.fetchUserInfo(cfg, tokens.access_token, idToken.sub);
      mine.signedIn = { idToken, userinfo, rawIdToken: tokens.id_token };
      return redirect(res, `/${service}/`);
    }
    case "sign-out": {
      const signedIn = mine.signedIn;
      delete mine.signedIn;
      const cfg = await config(service);
      if (signedIn && cfg.serverMetadata().end_session_endpoint) {
        return redirect(
          res,
          oidc.buildEndSessionUrl(cfg, { id_token_hint: signedIn.rawIdToken, post_logout_redirect_uri: `${base}/signed-out` }).href,
        );
      }
      return redirect(res, `/${service}/signed-out`);
    }
    case "signed-out":
      return page(res, 200, meta.name, `<h1>You have signed out</h1><p><a href="/${service}/">Start again</a></p>`);
    default:
      return page(res, 404, meta.name, "<h1>Page not found</h1>");
  }
}

http
  .createServer((req, res) => {
    handle(req, res).catch((e) => {
      // The library's refusal (a bad ID token, a state that differs): shown, since this page exists to be looked at.
      console.error(`sample service: ${e.name}: ${e.message}`);
      page(res, 502, "Sample services", `<h1>Signing in failed</h1><p>${escape(e.name)}: ${escape(e.message)}</p>`);
    });
  })
  .listen(Number(port), host, () => console.log(`sample services on ${publicUrl}`));
