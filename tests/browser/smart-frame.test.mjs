// The SMART App Launch (EHR launch) of the clinician app inside a cross-site
// EHR frame, as Epic and Oracle Health embed SMART apps, in headless
// Chromium with third-party cookies blocked: the EHR's page
// (https://localhost:A, smart-ehr.mjs) frames the card's launch link; the
// launch, the EHR's authorization and Tutti's callback
// (https://127.0.0.1:B, another site) all run inside the frame. The
// pending-launch cookie Tutti sets at the launch must come back to the
// callback, which only a `Partitioned` (CHIPS) cookie does in a third-party
// frame when such cookies are blocked: without it the callback is refused and
// the app never opens. A canary first shows that this browser really blocks
// an unpartitioned cookie there, so the test cannot pass for the wrong reason.
//
// Environment (set by scripts/test-browser.sh):
//   TUTTI_SMART_URL       base URL of a tutti server over https whose EHR issuer launches the app
//                         through SMART from https://localhost:$SMART_EHR_PORT/fhir
//   SMART_EHR_PORT        the port the pretend EHR listens on
//   SMART_PKI             folder with ca.pem, ehr.pem and ehr.key (the EHR's certificate) and
//                         tutti.pem (the server's)
//   NODE_EXTRA_CA_CERTS   $SMART_PKI/ca.pem, so this process's CDS calls trust the server

import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { cdsCall, launch, weeklyHistory } from "./lib.mjs";
import { startSmartEhr } from "./smart-ehr.mjs";

const TUTTI = process.env.TUTTI_SMART_URL ?? "";
const PKI = process.env.SMART_PKI ?? "";
const SKIP = TUTTI && PKI ? false : "set TUTTI_SMART_URL and SMART_PKI (scripts/test-browser.sh starts a TLS server)";

test("a SMART launch inside a cross-site EHR frame opens the app for the patient with third-party cookies blocked", { skip: SKIP }, async () => {
  const patient = "browser-smart-frame";
  const weeks = 5;
  // The patient's history arrives through a CDS call, as in the chart; the card links the launch URL.
  const answer = await cdsCall(patient, weeklyHistory(patient, weeks, 16, -1), "tutti-patient-view", TUTTI);
  const link = answer.cards[0].links[0];
  assert.equal(link.type, "smart");
  assert.equal(link.url, `${TUTTI}/ehr/app/launch`);

  const ehr = await startSmartEhr({
    port: Number(process.env.SMART_EHR_PORT),
    cert: join(PKI, "ehr.pem"),
    key: join(PKI, "ehr.key"),
    tutti: TUTTI,
    patient,
  });
  const browser = await launch({ width: 1280, height: 900 }, {
    blockThirdPartyCookies: true,
    trustCerts: [join(PKI, "ehr.pem"), join(PKI, "tutti.pem")],
  });
  try {
    const page = await browser.context.newPage();
    await page.goto(`${ehr.url}/canary`);
    assert.equal(
      await page.frameLocator("#canary").locator("#cookie").textContent(),
      "none",
      "this browser drops an unpartitioned third-party cookie in a cross-site frame (else the test below proves nothing about Partitioned)",
    );

    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    const callback = page.waitForResponse((r) => r.url().startsWith(`${TUTTI}/ehr/app/callback?`), { timeout: 15_000 });
    await page.goto(`${ehr.url}/ehr?app=${encodeURIComponent(link.url)}`);
    const back = await callback;
    assert.equal(
      back.status(),
      302,
      `Tutti's callback in the frame answered ${back.status()}: a 401 means the pending-launch cookie did not come back (see the server log); the EHR saw ${JSON.stringify(ehr.log)}`,
    );
    assert.deepEqual(ehr.log.tokenAnswers, [200], "one code exchanged, with the PKCE verifier");

    const app = page.frameLocator("#app");
    await app.locator("#content").waitFor({ state: "visible", timeout: 20_000 });
    const frame = page.frames().find((f) => f.url().startsWith(`${TUTTI}/ehr/app`));
    assert.equal(frame?.url(), `${TUTTI}/ehr/app`, "the app runs in the frame, the launch token gone from its address");
    assert.equal(
      await app.locator("#status").textContent(),
      `Based on ${weeks} assessments.`,
      "the app opened for the patient in the launch's context (their CDS history)",
    );
    assert.equal(await app.locator(".suggestion h3").count(), 3);
    // The session works from inside the frame too (it is a header, not a cookie).
    await app.locator(".suggestion").first().getByRole("button", { name: "Accept" }).click();
    await app.getByText(/^Accepted: .*Recorded\.$/).first().waitFor({ timeout: 10_000 });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await ehr.close();
  }
});
