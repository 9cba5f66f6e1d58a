"""Smoke test of the Python client against a running Tutti server.

The round trip runs only when SMOKE_TUTTI_ADDR (host:port) names one, the TLS
and bearer-token test only when SMOKE_TUTTI_TLS_ADDR names a server with TLS and
API keys, whose CA, an unrelated CA and a key are in SMOKE_TUTTI_TLS_CA,
SMOKE_TUTTI_TLS_OTHER_CA (PEM files) and SMOKE_TUTTI_TLS_TOKEN
(scripts/test-clients.sh starts both servers and sets them all); otherwise they
are skipped.
"""

import os
import time

import grpc
import pytest
from google.protobuf import timestamp_pb2

import tutti_client
from tutti_client.v1 import catalog_pb2, people_pb2, recommendation_pb2, types_pb2

ADDR = os.environ.get("SMOKE_TUTTI_ADDR")
TENANT = "clients-smoke-python"

needs_server = pytest.mark.skipif(
    not ADDR, reason="set SMOKE_TUTTI_ADDR=host:port of a running tutti server (scripts/test-clients.sh does)"
)

TLS_ADDR = os.environ.get("SMOKE_TUTTI_TLS_ADDR")
needs_tls_server = pytest.mark.skipif(
    not TLS_ADDR,
    reason="set SMOKE_TUTTI_TLS_ADDR=host:port of a tutti server with TLS and API keys, and "
    "SMOKE_TUTTI_TLS_CA, SMOKE_TUTTI_TLS_OTHER_CA, SMOKE_TUTTI_TLS_TOKEN (scripts/test-clients.sh does)",
)


def ts(seconds_ago: float = 0.0) -> timestamp_pb2.Timestamp:
    t = timestamp_pb2.Timestamp()
    t.FromNanoseconds(int((time.time() - seconds_ago) * 1e9))
    return t


@pytest.fixture
def tutti():
    with tutti_client.connect(ADDR, tenant=TENANT) as client:
        yield client


@needs_server
def test_client_round_trip_against_a_real_server(tutti):
    processes = tutti.catalog.ListProcesses(catalog_pb2.ListProcessesRequest(), timeout=30).processes
    assert processes, "ListProcesses returned no processes"

    person_id = "py-" + tutti_client.new_request_id()[:12]
    name = tutti_client.person_name(person_id)
    created = tutti.people.CreatePerson(
        people_pb2.CreatePersonRequest(request_id=tutti_client.new_request_id(), person_id=person_id)
    )
    assert created.person.name == name

    recorded = tutti.people.RecordAssessment(
        people_pb2.RecordAssessmentRequest(
            request_id=tutti_client.new_request_id(),
            person=name,
            assessment=people_pb2.Assessment(
                observe_time=ts(3600),
                ratings=[
                    types_pb2.ProcessRating(process_id=p.id, adaptive=40, maladaptive=60)
                    for p in processes[:3]
                ],
                outcomes=[types_pb2.OutcomeMeasure(instrument=types_pb2.INSTRUMENT_WELLBEING, score=55)],
            ),
        )
    )
    assert recorded.assessment.id, "RecordAssessment returned an assessment without id"

    rec = tutti.recommendations.Recommend(
        recommendation_pb2.RecommendRequest(
            request_id=tutti_client.new_request_id(), person=name, max_results=3
        )
    )
    assert len(rec.recommendations) > 0, "Recommend returned no ranked items"
    assert rec.decision_id, "Recommend returned an empty decision_id"
    for i, item in enumerate(rec.recommendations):
        assert item.recommendation_id, f"item {i} has an empty recommendation_id"
        assert item.rank == i + 1
        assert item.intervention.id, f"item {i} has no intervention id"

    fb = tutti.recommendations.RecordFeedback(
        recommendation_pb2.RecordFeedbackRequest(
            request_id=tutti_client.new_request_id(),
            feedback=recommendation_pb2.Feedback(
                recommendation_id=rec.recommendations[0].recommendation_id,
                completion=recommendation_pb2.COMPLETION_DONE,
                helpfulness=70,
                observe_time=ts(),
            ),
        )
    )
    assert fb.feedback.id, "RecordFeedback returned feedback without id"

    insights = tutti.people.GetPersonInsights(people_pb2.GetPersonInsightsRequest(person=name))
    assert insights.person == name
    assert insights.assessment_count == 1
    assert insights.follow_through.reported == 1

    # A rating outside 0-100 is rejected as INVALID_ARGUMENT.
    with pytest.raises(grpc.RpcError) as bad:
        tutti.people.RecordAssessment(
            people_pb2.RecordAssessmentRequest(
                request_id=tutti_client.new_request_id(),
                person=name,
                assessment=people_pb2.Assessment(
                    observe_time=ts(),
                    ratings=[types_pb2.ProcessRating(process_id=processes[0].id, adaptive=150)],
                ),
            )
        )
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT, bad.value

    # The tenant header is honoured: another tenant does not see this person.
    with tutti_client.connect(ADDR, tenant=TENANT + "-other") as other:
        with pytest.raises(grpc.RpcError) as missing:
            other.people.GetPerson(people_pb2.GetPersonRequest(name=name))
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND, missing.value


def tls_env(name: str) -> str:
    value = os.environ.get(name)
    assert value, f"SMOKE_TUTTI_TLS_ADDR is set but {name} is not"
    return value


def read_pem(name: str) -> bytes:
    with open(tls_env(name), "rb") as f:
        return f.read()


@needs_tls_server
def test_root_ca_and_bearer_token_reach_a_server_with_tls_and_api_keys():
    ca, other_ca = read_pem("SMOKE_TUTTI_TLS_CA"), read_pem("SMOKE_TUTTI_TLS_OTHER_CA")
    token = tls_env("SMOKE_TUTTI_TLS_TOKEN")
    person_id = "py-tls-" + tutti_client.new_request_id()[:12]

    def create_person(client):
        return client.people.CreatePerson(
            people_pb2.CreatePersonRequest(request_id=tutti_client.new_request_id(), person_id=person_id),
            timeout=30,
        )

    # Trusting the server's CA and sending the key: a write and a read succeed.
    with tutti_client.connect(TLS_ADDR, root_certificates=ca, token=token) as tutti:
        name = tutti_client.person_name(person_id)
        assert create_person(tutti).person.name == name
        assert tutti.people.GetPerson(people_pb2.GetPersonRequest(name=name), timeout=30).person.name == name

    # The same TLS without the key is refused.
    with tutti_client.connect(TLS_ADDR, root_certificates=ca) as no_token:
        with pytest.raises(grpc.RpcError) as refused:
            create_person(no_token)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED, refused.value

    # A client trusting only another CA does not accept the server's certificate.
    with tutti_client.connect(TLS_ADDR, root_certificates=other_ca, token=token) as untrusting:
        with pytest.raises(grpc.RpcError) as untrusted:
            create_person(untrusting)
        assert untrusted.value.code() == grpc.StatusCode.UNAVAILABLE, untrusted.value


def test_generated_modules_live_under_tutti_client():
    # grpcio-tools emits absolute `tutti.v1` imports; gen-clients.sh rewrites them.
    assert recommendation_pb2.RecommendRequest.__module__ == "tutti_client.v1.recommendation_pb2"
    msg = recommendation_pb2.RecommendRequest(person="people/x", max_results=2)
    assert recommendation_pb2.RecommendRequest.FromString(msg.SerializeToString()) == msg
