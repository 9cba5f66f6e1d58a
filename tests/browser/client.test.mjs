// The TypeScript client's browser build (clients/typescript/dist/web/tutti-web.js)
// in headless Chromium, from a page on another origin, against a real server:
// gRPC-Web through CORS, a full round trip, error codes and tenant isolation.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT, SKIP, TUTTI_URL, launch, serveStatic } from "./lib.mjs";

test("the browser client round-trips over gRPC-Web from another origin", { skip: SKIP }, async () => {
  const bundle = readFileSync(join(ROOT, "clients/typescript/dist/web/tutti-web.js"));
  const site = await serveStatic({
    "/": ["text/html", "<!doctype html><title>client test</title><p>browser client test</p>"],
    "/tutti-web.js": ["text/javascript", bundle],
  });
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    await page.goto(`${site.url}/`);
    const result = await page.evaluate(async (baseUrl) => {
      const t = await import("/tutti-web.js");
      const tenant = "browser-client-test";
      const tutti = t.createTuttiWebClients({ baseUrl, tenant });
      const out = {};
      const { processes } = await tutti.catalog.listProcesses({});
      out.processes = processes.length;
      const personId = `web-${t.newRequestId().slice(0, 12)}`;
      const person = t.personName(personId);
      out.created = (await tutti.people.createPerson({ requestId: t.newRequestId(), personId })).person?.name;
      for (let d = 6; d >= 0; d--) {
        await tutti.people.recordAssessment({
          requestId: t.newRequestId(), person,
          assessment: {
            observeTime: { seconds: BigInt(Math.floor(Date.now() / 1000) - d * 86400), nanos: 0 },
            ratings: processes.slice(0, 3).map((p) => ({ processId: p.id, adaptive: 40 + d, maladaptive: 60 - d })),
            outcomes: [{ instrument: t.Instrument.PHQ9, score: 12 - d / 2 }],
          },
        });
      }
      const ranked = await tutti.recommendations.recommend({ requestId: t.newRequestId(), person, maxResults: 3 });
      out.recommended = ranked.recommendations.length;
      const fb = await tutti.recommendations.recordFeedback({
        requestId: t.newRequestId(),
        feedback: { recommendationId: ranked.recommendations[0].recommendationId, completion: t.Completion.DONE, helpfulness: 80 },
      });
      out.feedback = Boolean(fb.feedback?.id);
      try {
        await tutti.people.createPerson({ requestId: t.newRequestId(), personId: "not a valid id!" });
        out.invalid = "no error";
      } catch (e) {
        out.invalid = t.Code[e.code];
      }
      try {
        await t.createTuttiWebClients({ baseUrl, tenant: "another-tenant" }).people.getPerson({ name: person });
        out.isolated = "visible";
      } catch (e) {
        out.isolated = t.Code[e.code];
      }
      return out;
    }, TUTTI_URL);
    assert.ok(result.processes > 0, JSON.stringify(result));
    assert.match(result.created, /^people\/web-/);
    assert.equal(result.recommended, 3);
    assert.equal(result.feedback, true);
    assert.equal(result.invalid, "InvalidArgument");
    assert.equal(result.isolated, "NotFound");
  } finally {
    await browser.close();
    await site.close();
  }
});
