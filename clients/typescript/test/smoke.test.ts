// Smoke tests of the TypeScript client against running Tutti servers. The
// round trip runs only when SMOKE_TUTTI_ADDR (host:port) names a server, the
// TLS and bearer-token test only when SMOKE_TUTTI_TLS_ADDR names a server with
// TLS and API keys, whose CA, an unrelated CA and a key are in
// SMOKE_TUTTI_TLS_CA, SMOKE_TUTTI_TLS_OTHER_CA (PEM files) and
// SMOKE_TUTTI_TLS_TOKEN (scripts/test-clients.sh starts both servers and sets
// them all); otherwise they are skipped.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampDate, timestampFromDate, timestampNow } from "@bufbuild/protobuf/wkt";
import { Completion, createTuttiClients, Instrument, newRequestId, personName } from "../src/index.js";

const addr = process.env.SMOKE_TUTTI_ADDR;
const tlsAddr = process.env.SMOKE_TUTTI_TLS_ADDR;
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

function tlsEnv(name: string): string {
  const value = process.env[name];
  assert.ok(value, `SMOKE_TUTTI_TLS_ADDR is set but ${name} is not`);
  return value;
}

test(
  "root CA and bearer token reach a server with TLS and API keys",
  {
    skip: tlsAddr
      ? false
      : "set SMOKE_TUTTI_TLS_ADDR=host:port of a tutti server with TLS and API keys, and " +
        "SMOKE_TUTTI_TLS_CA, SMOKE_TUTTI_TLS_OTHER_CA, SMOKE_TUTTI_TLS_TOKEN",
  },
  async () => {
    const baseUrl = `https://${tlsAddr}`;
    const rootCa = readFileSync(tlsEnv("SMOKE_TUTTI_TLS_CA"));
    const otherCa = readFileSync(tlsEnv("SMOKE_TUTTI_TLS_OTHER_CA"));
    const token = tlsEnv("SMOKE_TUTTI_TLS_TOKEN");
    const personId = `ts-tls-${newRequestId().slice(0, 12)}`;
    const name = personName(personId);
    const createPerson = (clients: ReturnType<typeof createTuttiClients>) =>
      clients.people.createPerson({ requestId: newRequestId(), personId }, { timeoutMs: 30_000 });

    // Trusting the server's CA and sending the key: a write and a read succeed.
    const tutti = createTuttiClients({ baseUrl, rootCa, token });
    assert.equal((await createPerson(tutti)).person?.name, name);
    assert.equal((await tutti.people.getPerson({ name }, { timeoutMs: 30_000 })).person?.name, name);

    // The same TLS without the key is refused.
    await expectCode(
      createPerson(createTuttiClients({ baseUrl, rootCa })),
      Code.Unauthenticated,
      "CreatePerson without the key",
    );

    // A client trusting only another CA does not accept the server's certificate.
    // Connect's Node transport reports Node's certificate check as INTERNAL
    // (gRPC's own libraries say UNAVAILABLE), so the test checks the cause.
    const what = "CreatePerson trusting another CA";
    await assert.rejects(createPerson(createTuttiClients({ baseUrl, rootCa: otherCa, token })), (err: unknown) => {
      assert.ok(err instanceof ConnectError, `${what}: expected a ConnectError, got ${String(err)}`);
      const cause = (err.cause as { code?: string } | undefined)?.code;
      assert.equal(cause, "UNABLE_TO_VERIFY_LEAF_SIGNATURE", `${what}: ${Code[err.code]} (${err.rawMessage})`);
      return true;
    });
  },
);
