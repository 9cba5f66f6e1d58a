// Smoke test of the TypeScript client against a running Tutti server. It runs
// only when SMOKE_TUTTI_ADDR (host:port) names one (scripts/test-clients.sh
// starts a server and sets it); otherwise it is skipped.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampDate, timestampFromDate, timestampNow } from "@bufbuild/protobuf/wkt";
import { Completion, createTuttiClients, Instrument, newRequestId, personName } from "../src/index.js";

const addr = process.env.SMOKE_TUTTI_ADDR;
const tenant = "clients-smoke-typescript";

async function expectCode(call: Promise<unknown>, code: Code, what: string): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    assert.ok(err instanceof ConnectError, `${what}: expected a ConnectError, got ${String(err)}`);
    assert.equal(err.code, code, `${what}: got ${Code[err.code]} (${err.rawMessage})`);
    return true;
  });
}

test("client round trip against a real server", { skip: addr ? false : "set SMOKE_TUTTI_ADDR=host:port of a running tutti server" }, async () => {
  const tutti = createTuttiClients({ baseUrl: `http://${addr}`, tenant });

  const { processes } = await tutti.catalog.listProcesses({});
  assert.ok(processes.length > 0, "ListProcesses returned no processes");

  const personId = `ts-${newRequestId().slice(0, 12)}`;
  const name = personName(personId);
  const created = await tutti.people.createPerson({ requestId: newRequestId(), personId });
  assert.equal(created.person?.name, name);
  assert.ok(created.person?.createTime, "person has no create_time");
  assert.ok(timestampDate(created.person.createTime) <= new Date(Date.now() + 60_000));

  const recorded = await tutti.people.recordAssessment({
    requestId: newRequestId(),
    person: name,
    assessment: {
      observeTime: timestampFromDate(new Date(Date.now() - 3_600_000)),
      ratings: processes.slice(0, 3).map((p) => ({ processId: p.id, adaptive: 40, maladaptive: 60 })),
      outcomes: [{ instrument: Instrument.WELLBEING, score: 55 }],
    },
  });
  assert.ok(recorded.assessment?.id, "RecordAssessment returned an assessment without id");

  const rec = await tutti.recommendations.recommend({ requestId: newRequestId(), person: name, maxResults: 3 });
  assert.ok(rec.recommendations.length > 0, "Recommend returned no ranked items");
  assert.ok(rec.decisionId, "Recommend returned an empty decision_id");
  rec.recommendations.forEach((item, i) => {
    assert.ok(item.recommendationId, `item ${i} has an empty recommendation_id`);
    assert.equal(item.rank, i + 1);
    assert.ok(item.intervention?.id, `item ${i} has no intervention id`);
  });

  const fb = await tutti.recommendations.recordFeedback({
    requestId: newRequestId(),
    feedback: {
      recommendationId: rec.recommendations[0].recommendationId,
      completion: Completion.DONE,
      helpfulness: 70,
      observeTime: timestampNow(),
    },
  });
  assert.ok(fb.feedback?.id, "RecordFeedback returned feedback without id");

  const insights = await tutti.people.getPersonInsights({ person: name });
  assert.equal(insights.person, name);
  assert.equal(insights.assessmentCount, 1);
  assert.equal(insights.followThrough?.reported, 1);

  // A rating outside 0-100 is rejected as INVALID_ARGUMENT.
  await expectCode(
    tutti.people.recordAssessment({
      requestId: newRequestId(),
      person: name,
      assessment: { observeTime: timestampNow(), ratings: [{ processId: processes[0].id, adaptive: 150 }] },
    }),
    Code.InvalidArgument,
    "RecordAssessment with a rating of 150",
  );

  // The tenant header is honoured: another tenant does not see this person.
  const other = createTuttiClients({ baseUrl: `http://${addr}`, tenant: `${tenant}-other` });
  await expectCode(other.people.getPerson({ name }), Code.NotFound, "GetPerson from another tenant");
});
