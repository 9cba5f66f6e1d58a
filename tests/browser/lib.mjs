// Shared plumbing of the browser tests: Debian's Chromium driven by
// playwright-core (never a browser playwright downloads), a pretend EHR that
// signs CDS Hooks JWTs with the test key in tests/fixtures/ehr/, FHIR
// fixtures, and a static file server on a loopback port.
//
// Environment (set by scripts/test-browser.sh):
//   TUTTI_URL             base URL of a running tutti server configured for the EHR tests
//   TUTTI_SCREENSHOT_DIR  where to keep screenshots (default: a temporary folder)
//   (smart-frame.test.mjs reads its own, named there)

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { X509Certificate, createHash, createSign, randomUUID } from "node:crypto";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(here, "..", "..");
export const TUTTI_URL = process.env.TUTTI_URL ?? "";
export const ISS = "https://ehr.test.example";
export const LOINC = "http://loinc.org";
export const QUESTIONNAIRE = "http://tutti.health/fhir/Questionnaire/tutti-processes";
export const SKIP = TUTTI_URL ? false : "set TUTTI_URL (scripts/test-browser.sh starts a server)";

export const SCREENSHOTS = process.env.TUTTI_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), "tutti-shots-"));
mkdirSync(SCREENSHOTS, { recursive: true });

/**
 * Chromium from Debian with a fresh profile; `close()` removes the profile.
 * `blockThirdPartyCookies` sets the profile's "Block third-party cookies"
 * (what a user or an admin chooses; only partitioned cookies then work in a
 * cross-site frame). `trustCerts` (PEM file paths) are certificates whose
 * errors are ignored, by key, so https with a throwaway CA works without
 * ignoring every certificate error.
 */
export async function launch(viewport = { width: 1280, height: 800 }, { blockThirdPartyCookies = false, trustCerts = [] } = {}) {
  const profile = mkdtempSync(join(tmpdir(), "tutti-chromium-"));
  if (blockThirdPartyCookies) {
    // 1 is CookieControlsMode::kBlockThirdParty.
    mkdirSync(join(profile, "Default"));
    writeFileSync(join(profile, "Default", "Preferences"), JSON.stringify({ profile: { cookie_controls_mode: 1 } }));
  }
  const spki = trustCerts.map((path) =>
    createHash("sha256")
      .update(new X509Certificate(readFileSync(path)).publicKey.export({ type: "spki", format: "der" }))
      .digest("base64"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      ...(spki.length ? [`--ignore-certificate-errors-spki-list=${spki.join(",")}`] : []),
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A static server on 127.0.0.1:0 answering `routes[path]` = [contentType, body]. */
export async function serveStatic(routes) {
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const route = routes[path];
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": route[0] }).end(route[1]);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((ok) => server.close(ok)) };
}

const b64url = (x) => Buffer.from(x).toString("base64url");

/** A JWT of `claims`, signed RS256 with the test key `ehr-rsa-1`. */
export function signJwt(claims) {
  const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: "ehr-rsa-1" }));
  const payload = b64url(JSON.stringify(claims));
  const signer = createSign("RSA-SHA256");
  signer.update(`${header}.${payload}`);
  const key = readFileSync(join(ROOT, "tests/fixtures/ehr/rsa-private.pem"));
  return `${header}.${payload}.${signer.sign(key).toString("base64url")}`;
}

/** A CDS client JWT for `url`, signed RS256 with the test key `ehr-rsa-1`. */
export function ehrJwt(url) {
  const now = Math.floor(Date.now() / 1000);
  return signJwt({ iss: ISS, aud: url, iat: now, exp: now + 300, jti: randomUUID() });
}

/**
 * POSTs a CDS Hooks call for `patientId` with `resources` prefetched to the
 * server at `base`; returns the JSON answer.
 */
export async function cdsCall(patientId, resources, service = "tutti-patient-view", base = TUTTI_URL) {
  const url = `${base}/cds-services/${service}`;
  const qrs = resources.filter((r) => r.resourceType === "QuestionnaireResponse");
  const obs = resources.filter((r) => r.resourceType !== "QuestionnaireResponse");
  const body = {
    hookInstance: randomUUID(),
    hook: "patient-view",
    fhirServer: "https://ehr.test.example/fhir",
    context: { userId: "Practitioner/example", patientId },
    prefetch: { questionnaireResponses: bundle(qrs), observations: bundle(obs) },
  };
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ehrJwt(url)}` },
    body: JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`CDS call failed: ${r.status} ${await r.text()}`);
  return r.json();
}

/**
 * Reports whether the person did each suggestion (`[recommendationId, "done" | "partly" | "not_done"]`)
 * through RecordFeedback over gRPC-Web, with the TypeScript client's browser build run in Node, as a
 * patient-facing app would (the EHR path has no way to report it). `tenant` is the EHR issuer's tenant.
 */
export async function reportFollowThrough(reports, tenant = "clinic-ehr") {
  const t = await import(pathToFileURL(join(ROOT, "clients/typescript/dist/web/tutti-web.js")).href);
  const tutti = t.createTuttiWebClients({ baseUrl: TUTTI_URL, tenant });
  const completion = { done: t.Completion.DONE, partly: t.Completion.PARTLY, not_done: t.Completion.NOT_DONE };
  for (const [recommendationId, how] of reports) {
    assert.ok(how in completion, `unknown completion ${how}`);
    const r = await tutti.recommendations.recordFeedback({
      requestId: t.newRequestId(),
      feedback: { recommendationId, completion: completion[how] },
    });
    assert.ok(r.feedback?.id, `feedback on ${recommendationId} recorded`);
  }
}

export function bundle(resources) {
  return { resourceType: "Bundle", type: "searchset", entry: resources.map((resource) => ({ resource })) };
}

const daysAgo = (d) => new Date(Date.now() - d * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");

/** The PHQ-9 total `weeklyHistory` sends in week `w`. */
export const weeklyPhq9 = (start, step, w) => Math.max(0, Math.min(27, Math.round(start + step * w)));

/** Weekly PHQ-9 totals and process questionnaires, oldest first. */
export function weeklyHistory(patientId, weeks, start, step) {
  const out = [];
  for (let w = 0; w < weeks; w++) {
    const when = daysAgo((weeks - 1 - w) * 7);
    const phq = weeklyPhq9(start, step, w);
    const wb = 100 - phq * 3;
    out.push({
      resourceType: "Observation", id: `phq-${w}`, status: "final",
      code: { coding: [{ system: LOINC, code: "44261-6" }] },
      subject: { reference: `Patient/${patientId}` }, effectiveDateTime: when,
      valueQuantity: { value: phq, unit: "{score}" },
    });
    const clamp = (x) => Math.round(Math.max(0, Math.min(100, x)));
    out.push({
      resourceType: "QuestionnaireResponse", id: `qr-${w}`, status: "completed",
      questionnaire: QUESTIONNAIRE, subject: { reference: `Patient/${patientId}` }, authored: when,
      item: [
        ["affect.adaptive", wb * 0.8], ["affect.maladaptive", 100 - wb], ["social.adaptive", 60],
        ["sleep.maladaptive", 90 - wb * 0.5], ["cognition.maladaptive", 100 - wb * 0.9],
        ["behavior.adaptive", wb * 0.6],
      ].map(([linkId, v]) => ({ linkId, answer: [{ valueInteger: clamp(v) }] })),
    });
  }
  return out;
}

/** A PHQ-9 item 9 answer today (0-3). */
export function item9(patientId, answer) {
  return {
    resourceType: "Observation", id: "item9", status: "final",
    code: { coding: [{ system: LOINC, code: "44260-8" }] },
    subject: { reference: `Patient/${patientId}` }, effectiveDateTime: daysAgo(0),
    valueInteger: answer,
  };
}
