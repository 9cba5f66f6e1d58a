// A pretend EHR for the SMART App Launch in a browser, over https on its own
// site (https://localhost:PORT), mirroring tests/src/smart.rs (the Rust
// tests' pretend EHR) for what Tutti's launch and callback expect:
//   GET  /ehr?app=<card link>        the chart: frames the app's launch URL with `iss` and `launch`
//   GET  /fhir/.well-known/smart-configuration
//   GET  /auth/authorize             checks client id, redirect URI, aud, launch, scope, PKCE S256;
//                                    redirects back with a code and the state
//   POST /auth/token                 checks the code (single use), client id, redirect URI and the
//                                    PKCE verifier; answers an access token, `patient` and an
//                                    RS256 id_token (test key `ehr-rsa-1`) naming PRACTITIONER
//   GET  /auth/jwks                  tests/fixtures/ehr/jwks.json
//   GET  /canary                     frames https://127.0.0.1:PORT/canary/set, which sets an
//                                    unpartitioned `SameSite=None; Secure` cookie and shows
//                                    whether it comes back: it must not when the browser blocks
//                                    third-party cookies, else a test of `Partitioned` proves nothing
// It records what it was asked and why it refused, for the test's messages.

import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { join } from "node:path";
import { ROOT, signJwt } from "./lib.mjs";

/** The client id Tutti is registered under here (scripts/test-browser.sh configures it). */
export const CLIENT_ID = "tutti-frame-client";
/** The `launch` value the EHR appends to the app's link. */
export const LAUNCH = "launch-frame-5c1e";
/** The signed-in user its id_tokens name (`fhirUser`). */
export const PRACTITIONER = "Practitioner/prac-frame-1";

const esc = (s) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

/**
 * Starts it on 127.0.0.1:`port` (fixed: Tutti's configuration names it
 * before the test starts) with the TLS `cert` and `key` (PEM paths), for
 * the Tutti at `tutti` (its redirect URI is `${tutti}/ehr/app/callback`),
 * with `patient` in every launch's context.
 */
export async function startSmartEhr({ port, cert, key, tutti, patient }) {
  const base = `https://localhost:${port}`;
  const fhir = `${base}/fhir`;
  const issuer = `${base}/auth`;
  const redirectUri = `${tutti}/ehr/app/callback`;
  const codes = new Map(); // code -> PKCE challenge
  const log = { requests: [], refusals: [], tokenAnswers: [] };
  const jwks = readFileSync(join(ROOT, "tests/fixtures/ehr/jwks.json"));

  const send = (res, status, type, body, headers = {}) =>
    res.writeHead(status, { "content-type": type, "cache-control": "no-store", ...headers }).end(body);
  const refuse = (res, why) => {
    log.refusals.push(why);
    send(res, 400, "text/plain", why);
  };
  const json = (res, status, body) => send(res, status, "application/json", JSON.stringify(body));

  function authorize(res, q) {
    const scopes = (q.get("scope") ?? "").split(" ");
    const checks = [
      ["response_type", q.get("response_type") === "code"],
      ["client_id", q.get("client_id") === CLIENT_ID],
      ["redirect_uri", q.get("redirect_uri") === redirectUri],
      ["aud", q.get("aud") === fhir],
      ["launch", q.get("launch") === LAUNCH],
      ["scope", scopes.includes("launch") && scopes.includes("openid")],
      ["code_challenge_method", q.get("code_challenge_method") === "S256"],
      ["code_challenge", (q.get("code_challenge") ?? "").length >= 43],
      ["state", (q.get("state") ?? "").length >= 16],
    ];
    const failed = checks.find(([, ok]) => !ok);
    if (failed) return refuse(res, `authorize: bad ${failed[0]}`);
    const code = randomUUID();
    codes.set(code, q.get("code_challenge"));
    const back = new URL(redirectUri);
    back.searchParams.set("code", code);
    back.searchParams.set("state", q.get("state"));
    send(res, 302, "text/plain", "", { location: back.href });
  }

  function token(req, res, body) {
    const f = new URLSearchParams(body);
    // Codes are single use, spent even by a failed exchange.
    const challenge = codes.get(f.get("code") ?? "");
    codes.delete(f.get("code") ?? "");
    const verifierHash = createHash("sha256").update(f.get("code_verifier") ?? "").digest("base64url");
    const checks = [
      ["grant_type", f.get("grant_type") === "authorization_code"],
      // A public client: its id in the body, no credentials.
      ["client", f.get("client_id") === CLIENT_ID && !req.headers.authorization],
      ["code", challenge !== undefined],
      ["code_verifier", challenge === verifierHash],
      ["redirect_uri", f.get("redirect_uri") === redirectUri],
    ];
    const failed = checks.find(([, ok]) => !ok);
    if (failed) {
      log.refusals.push(`token: bad ${failed[0]}`);
      log.tokenAnswers.push(400);
      return json(res, 400, { error: "invalid_grant" });
    }
    const now = Math.floor(Date.now() / 1000);
    const idToken = signJwt({
      iss: issuer, sub: "user-frame-1", aud: CLIENT_ID, iat: now, exp: now + 300, fhirUser: PRACTITIONER,
    });
    log.tokenAnswers.push(200);
    json(res, 200, {
      access_token: randomUUID(),
      token_type: "Bearer",
      expires_in: 3600,
      scope: "launch openid fhirUser patient/Patient.rs",
      patient,
      id_token: idToken,
    });
  }

  const server = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
    const url = new URL(req.url, base);
    log.requests.push(`${req.method} ${url.pathname}`);
    const route = `${req.method} ${url.pathname}`;
    if (route === "GET /ehr") {
      const app = new URL(url.searchParams.get("app") ?? "");
      app.searchParams.set("iss", fhir);
      app.searchParams.set("launch", LAUNCH);
      return send(res, 200, "text/html; charset=utf-8", `<!doctype html><meta charset="utf-8"><title>Pretend EHR</title>
<h1>Pretend EHR: patient ${esc(patient)}</h1>
<iframe id="app" title="Tutti" src="${esc(app.href)}" style="width:100%;height:720px;border:0"></iframe>`);
    }
    if (route === "GET /canary") {
      return send(res, 200, "text/html; charset=utf-8", `<!doctype html><meta charset="utf-8"><title>canary</title>
<iframe id="canary" src="https://127.0.0.1:${port}/canary/set"></iframe>`);
    }
    if (route === "GET /canary/set") {
      return send(res, 302, "text/plain", "", {
        "set-cookie": "canary=1; Path=/canary; Secure; SameSite=None; HttpOnly",
        location: `https://127.0.0.1:${port}/canary/read`,
      });
    }
    if (route === "GET /canary/read") {
      const got = /(?:^|; )canary=1(?:;|$)/.test(req.headers.cookie ?? "") ? "sent" : "none";
      return send(res, 200, "text/html; charset=utf-8", `<!doctype html><p id="cookie">${got}</p>`);
    }
    if (route === "GET /fhir/.well-known/smart-configuration") {
      return json(res, 200, {
        issuer,
        jwks_uri: `${issuer}/jwks`,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        grant_types_supported: ["authorization_code"],
        code_challenge_methods_supported: ["S256"],
        capabilities: ["launch-ehr", "client-public", "context-ehr-patient", "sso-openid-connect"],
      });
    }
    if (route === "GET /auth/jwks") return send(res, 200, "application/json", jwks);
    if (route === "GET /auth/authorize") return authorize(res, url.searchParams);
    if (route === "POST /auth/token") {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (chunk) => { body += chunk; });
      req.on("end", () => token(req, res, body));
      return undefined;
    }
    return send(res, 404, "text/plain", "not found");
  });
  await new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, "127.0.0.1", ok);
  });
  return {
    url: base,
    log,
    close: () => new Promise((ok) => {
      server.close(ok);
      server.closeAllConnections();
    }),
  };
}
