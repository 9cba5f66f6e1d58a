package health.tutti.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.Timestamp;
import health.tutti.v1.Assessment;
import health.tutti.v1.Completion;
import health.tutti.v1.CreatePersonRequest;
import health.tutti.v1.CreatePersonResponse;
import health.tutti.v1.Feedback;
import health.tutti.v1.GetPersonInsightsRequest;
import health.tutti.v1.GetPersonInsightsResponse;
import health.tutti.v1.GetPersonRequest;
import health.tutti.v1.Instrument;
import health.tutti.v1.ListProcessesRequest;
import health.tutti.v1.OutcomeMeasure;
import health.tutti.v1.Process;
import health.tutti.v1.ProcessRating;
import health.tutti.v1.RecommendRequest;
import health.tutti.v1.RecommendResponse;
import health.tutti.v1.Recommendation;
import health.tutti.v1.RecordAssessmentRequest;
import health.tutti.v1.RecordAssessmentResponse;
import health.tutti.v1.RecordFeedbackRequest;
import health.tutti.v1.RecordFeedbackResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.File;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Smoke tests of the Java client against running Tutti servers. The round trip runs only when
 * SMOKE_TUTTI_ADDR (host:port) names a server, the TLS and bearer-token test only when
 * SMOKE_TUTTI_TLS_ADDR names a server with TLS and API keys, whose CA, an unrelated CA and a key are
 * in SMOKE_TUTTI_TLS_CA, SMOKE_TUTTI_TLS_OTHER_CA (PEM files) and SMOKE_TUTTI_TLS_TOKEN
 * (scripts/test-clients.sh starts both servers and sets them all); otherwise they are skipped.
 */
class SmokeTest {
  private static final String TENANT = "clients-smoke-java";

  private static Timestamp ts(Instant t) {
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }

  @Test
  void clientRoundTripAgainstARealServer() {
    String addr = System.getenv("SMOKE_TUTTI_ADDR");
    assumeTrue(addr != null && !addr.isEmpty(), "set SMOKE_TUTTI_ADDR=host:port of a running tutti server");

    try (TuttiClient tutti = TuttiClient.connect(addr, TENANT);
        TuttiClient other = TuttiClient.connect(addr, TENANT + "-other")) {
      List<Process> processes =
          tutti.catalog().withDeadlineAfter(30, TimeUnit.SECONDS)
              .listProcesses(ListProcessesRequest.getDefaultInstance())
              .getProcessesList();
      assertFalse(processes.isEmpty(), "ListProcesses returned no processes");

      String personId = "java-" + TuttiClient.newRequestId().substring(0, 12);
      String name = TuttiClient.personName(personId);
      CreatePersonResponse created =
          tutti.people().createPerson(CreatePersonRequest.newBuilder()
              .setRequestId(TuttiClient.newRequestId())
              .setPersonId(personId)
              .build());
      assertEquals(name, created.getPerson().getName());

      Assessment.Builder assessment = Assessment.newBuilder()
          .setObserveTime(ts(Instant.now().minusSeconds(3600)))
          .addOutcomes(OutcomeMeasure.newBuilder()
              .setInstrument(Instrument.INSTRUMENT_WELLBEING)
              .setScore(55));
      for (Process p : processes.subList(0, Math.min(3, processes.size()))) {
        assessment.addRatings(
            ProcessRating.newBuilder().setProcessId(p.getId()).setAdaptive(40).setMaladaptive(60));
      }
      RecordAssessmentResponse recorded =
          tutti.people().recordAssessment(RecordAssessmentRequest.newBuilder()
              .setRequestId(TuttiClient.newRequestId())
              .setPerson(name)
              .setAssessment(assessment)
              .build());
      assertFalse(recorded.getAssessment().getId().isEmpty(), "assessment without id");

      RecommendResponse rec =
          tutti.recommendations().recommend(RecommendRequest.newBuilder()
              .setRequestId(TuttiClient.newRequestId())
              .setPerson(name)
              .setMaxResults(3)
              .build());
      assertFalse(rec.getRecommendationsList().isEmpty(), "Recommend returned no ranked items");
      assertFalse(rec.getDecisionId().isEmpty(), "empty decision_id");
      for (int i = 0; i < rec.getRecommendationsCount(); i++) {
        Recommendation item = rec.getRecommendations(i);
        assertFalse(item.getRecommendationId().isEmpty(), "item " + i + " has an empty recommendation_id");
        assertEquals(i + 1, item.getRank());
        assertFalse(item.getIntervention().getId().isEmpty(), "item " + i + " has no intervention id");
      }

      RecordFeedbackResponse fb =
          tutti.recommendations().recordFeedback(RecordFeedbackRequest.newBuilder()
              .setRequestId(TuttiClient.newRequestId())
              .setFeedback(Feedback.newBuilder()
                  .setRecommendationId(rec.getRecommendations(0).getRecommendationId())
                  .setCompletion(Completion.COMPLETION_DONE)
                  .setHelpfulness(70)
                  .setObserveTime(ts(Instant.now())))
              .build());
      assertFalse(fb.getFeedback().getId().isEmpty(), "feedback without id");

      GetPersonInsightsResponse insights =
          tutti.people().getPersonInsights(
              GetPersonInsightsRequest.newBuilder().setPerson(name).build());
      assertEquals(name, insights.getPerson());
      assertEquals(1, insights.getAssessmentCount());
      assertEquals(1, insights.getFollowThrough().getReported());

      // A rating outside 0-100 is rejected as INVALID_ARGUMENT.
      StatusRuntimeException bad = assertThrows(StatusRuntimeException.class, () ->
          tutti.people().recordAssessment(RecordAssessmentRequest.newBuilder()
              .setRequestId(TuttiClient.newRequestId())
              .setPerson(name)
              .setAssessment(Assessment.newBuilder()
                  .setObserveTime(ts(Instant.now()))
                  .addRatings(ProcessRating.newBuilder()
                      .setProcessId(processes.get(0).getId())
                      .setAdaptive(150)))
              .build()));
      assertEquals(Status.Code.INVALID_ARGUMENT, bad.getStatus().getCode(), bad.toString());

      // The tenant header is honoured: another tenant does not see this person.
      StatusRuntimeException missing = assertThrows(StatusRuntimeException.class, () ->
          other.people().getPerson(GetPersonRequest.newBuilder().setName(name).build()));
      assertEquals(Status.Code.NOT_FOUND, missing.getStatus().getCode(), missing.toString());
    }
  }

  private static String tlsEnv(String name) {
    String value = System.getenv(name);
    if (value == null || value.isEmpty()) {
      fail("SMOKE_TUTTI_TLS_ADDR is set but " + name + " is not");
    }
    return value;
  }

  private static CreatePersonResponse createPerson(TuttiClient client, String personId) {
    return client.people().withDeadlineAfter(30, TimeUnit.SECONDS)
        .createPerson(CreatePersonRequest.newBuilder()
            .setRequestId(TuttiClient.newRequestId())
            .setPersonId(personId)
            .build());
  }

  @Test
  void rootCaAndBearerTokenReachAServerWithTlsAndApiKeys() throws IOException {
    String addr = System.getenv("SMOKE_TUTTI_TLS_ADDR");
    assumeTrue(addr != null && !addr.isEmpty(),
        "set SMOKE_TUTTI_TLS_ADDR=host:port of a tutti server with TLS and API keys, and "
            + "SMOKE_TUTTI_TLS_CA, SMOKE_TUTTI_TLS_OTHER_CA, SMOKE_TUTTI_TLS_TOKEN");
    File ca = new File(tlsEnv("SMOKE_TUTTI_TLS_CA"));
    File otherCa = new File(tlsEnv("SMOKE_TUTTI_TLS_OTHER_CA"));
    String token = tlsEnv("SMOKE_TUTTI_TLS_TOKEN");
    String personId = "java-tls-" + TuttiClient.newRequestId().substring(0, 12);
    String name = TuttiClient.personName(personId);

    // Trusting the server's CA and sending the key: a write and a read succeed.
    try (TuttiClient tutti = TuttiClient.connect(addr, TuttiClient.tlsWithRootCa(ca), null, token)) {
      assertEquals(name, createPerson(tutti, personId).getPerson().getName());
      assertEquals(name, tutti.people().withDeadlineAfter(30, TimeUnit.SECONDS)
          .getPerson(GetPersonRequest.newBuilder().setName(name).build())
          .getPerson().getName());
    }

    // The same TLS without the key is refused.
    try (TuttiClient noToken = TuttiClient.connect(addr, TuttiClient.tlsWithRootCa(ca), null, null)) {
      StatusRuntimeException refused =
          assertThrows(StatusRuntimeException.class, () -> createPerson(noToken, personId));
      assertEquals(Status.Code.UNAUTHENTICATED, refused.getStatus().getCode(), refused.toString());
    }

    // A client trusting only another CA does not accept the server's certificate.
    try (TuttiClient untrusting =
        TuttiClient.connect(addr, TuttiClient.tlsWithRootCa(otherCa), null, token)) {
      StatusRuntimeException untrusted =
          assertThrows(StatusRuntimeException.class, () -> createPerson(untrusting, personId));
      assertEquals(Status.Code.UNAVAILABLE, untrusted.getStatus().getCode(), untrusted.toString());
    }
  }
}
