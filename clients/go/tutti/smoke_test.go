package tutti_test

// Smoke tests of the Go client against running Tutti servers. The round trip
// runs only when SMOKE_TUTTI_ADDR names a server, the TLS and bearer-token test
// only when SMOKE_TUTTI_TLS_ADDR names a server with TLS and API keys, whose
// CA, an unrelated CA and a key are in SMOKE_TUTTI_TLS_CA,
// SMOKE_TUTTI_TLS_OTHER_CA (PEM files) and SMOKE_TUTTI_TLS_TOKEN
// (scripts/test-clients.sh starts both servers and sets them all); otherwise
// they are skipped.

import (
	"context"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tutti-health/tutti/clients/go/tutti"
	tuttiv1 "github.com/tutti-health/tutti/clients/go/tutti/v1"
)

const tenant = "clients-smoke-go"

func connect(t *testing.T, addr, tenant string) *tutti.Client {
	t.Helper()
	c, err := tutti.New(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), tutti.WithTenant(tenant))
	if err != nil {
		t.Fatalf("tutti.New(%q): %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestClientRoundTrip(t *testing.T) {
	addr := os.Getenv("SMOKE_TUTTI_ADDR")
	if addr == "" {
		t.Skip("set SMOKE_TUTTI_ADDR=host:port of a running tutti server (scripts/test-clients.sh does)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := connect(t, addr, tenant)

	procs, err := c.Catalog.ListProcesses(ctx, &tuttiv1.ListProcessesRequest{})
	if err != nil {
		t.Fatalf("ListProcesses: %v", err)
	}
	if len(procs.GetProcesses()) == 0 {
		t.Fatal("ListProcesses returned no processes")
	}

	personID := "go-" + tutti.NewRequestID()[:12]
	name := tutti.PersonName(personID)
	created, err := c.People.CreatePerson(ctx, &tuttiv1.CreatePersonRequest{RequestId: tutti.NewRequestID(), PersonId: personID})
	if err != nil {
		t.Fatalf("CreatePerson: %v", err)
	}
	if got := created.GetPerson().GetName(); got != name {
		t.Fatalf("CreatePerson name = %q, want %q", got, name)
	}

	var ratings []*tuttiv1.ProcessRating
	for _, p := range procs.GetProcesses()[:min(3, len(procs.GetProcesses()))] {
		ratings = append(ratings, &tuttiv1.ProcessRating{ProcessId: p.GetId(), Adaptive: proto.Float64(40), Maladaptive: proto.Float64(60)})
	}
	recorded, err := c.People.RecordAssessment(ctx, &tuttiv1.RecordAssessmentRequest{
		RequestId: tutti.NewRequestID(),
		Person:    name,
		Assessment: &tuttiv1.Assessment{
			ObserveTime: timestamppb.New(time.Now().Add(-time.Hour)),
			Ratings:     ratings,
			Outcomes:    []*tuttiv1.OutcomeMeasure{{Instrument: tuttiv1.Instrument_INSTRUMENT_WELLBEING, Score: 55}},
		},
	})
	if err != nil {
		t.Fatalf("RecordAssessment: %v", err)
	}
	if recorded.GetAssessment().GetId() == "" {
		t.Fatal("RecordAssessment returned an assessment without id")
	}

	rec, err := c.Recommendations.Recommend(ctx, &tuttiv1.RecommendRequest{RequestId: tutti.NewRequestID(), Person: name, MaxResults: 3})
	if err != nil {
		t.Fatalf("Recommend: %v", err)
	}
	items := rec.GetRecommendations()
	if len(items) == 0 {
		t.Fatal("Recommend returned no ranked items")
	}
	if rec.GetDecisionId() == "" {
		t.Error("Recommend returned an empty decision_id")
	}
	for i, item := range items {
		if item.GetRecommendationId() == "" {
			t.Errorf("item %d has an empty recommendation_id", i)
		}
		if item.GetRank() != uint32(i+1) {
			t.Errorf("item %d has rank %d", i, item.GetRank())
		}
		if item.GetIntervention().GetId() == "" {
			t.Errorf("item %d has no intervention id", i)
		}
	}

	fb, err := c.Recommendations.RecordFeedback(ctx, &tuttiv1.RecordFeedbackRequest{
		RequestId: tutti.NewRequestID(),
		Feedback: &tuttiv1.Feedback{
			RecommendationId: items[0].GetRecommendationId(),
			Completion:       tuttiv1.Completion_COMPLETION_DONE,
			Helpfulness:      proto.Float64(70),
			ObserveTime:      timestamppb.Now(),
		},
	})
	if err != nil {
		t.Fatalf("RecordFeedback: %v", err)
	}
	if fb.GetFeedback().GetId() == "" {
		t.Error("RecordFeedback returned feedback without id")
	}

	ins, err := c.People.GetPersonInsights(ctx, &tuttiv1.GetPersonInsightsRequest{Person: name})
	if err != nil {
		t.Fatalf("GetPersonInsights: %v", err)
	}
	if ins.GetPerson() != name || ins.GetAssessmentCount() != 1 {
		t.Errorf("GetPersonInsights person=%q assessment_count=%d, want %q and 1", ins.GetPerson(), ins.GetAssessmentCount(), name)
	}
	if got := ins.GetFollowThrough().GetReported(); got != 1 {
		t.Errorf("follow_through.reported = %d, want 1", got)
	}

	// A rating outside 0-100 is rejected as INVALID_ARGUMENT.
	_, err = c.People.RecordAssessment(ctx, &tuttiv1.RecordAssessmentRequest{
		RequestId: tutti.NewRequestID(),
		Person:    name,
		Assessment: &tuttiv1.Assessment{
			ObserveTime: timestamppb.Now(),
			Ratings:     []*tuttiv1.ProcessRating{{ProcessId: procs.GetProcesses()[0].GetId(), Adaptive: proto.Float64(150)}},
		},
	})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("RecordAssessment with a rating of 150: got %v, want InvalidArgument", err)
	}

	// The tenant header is honoured: another tenant does not see this person.
	other := connect(t, addr, tenant+"-other")
	_, err = other.People.GetPerson(ctx, &tuttiv1.GetPersonRequest{Name: name})
	if status.Code(err) != codes.NotFound {
		t.Errorf("GetPerson from another tenant: got %v, want NotFound", err)
	}
}

// tlsEnv is an environment variable the TLS test needs once SMOKE_TUTTI_TLS_ADDR is set.
func tlsEnv(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("SMOKE_TUTTI_TLS_ADDR is set but %s is not", name)
	}
	return v
}

// rootCA is WithRootCA of the PEM file named by the environment variable name.
func rootCA(t *testing.T, name string) grpc.DialOption {
	t.Helper()
	pem, err := os.ReadFile(tlsEnv(t, name))
	if err != nil {
		t.Fatal(err)
	}
	opt, err := tutti.WithRootCA(pem)
	if err != nil {
		t.Fatalf("WithRootCA(%s): %v", name, err)
	}
	return opt
}

func TestRootCAAndBearerTokenReachAServerWithTLSAndAPIKeys(t *testing.T) {
	addr := os.Getenv("SMOKE_TUTTI_TLS_ADDR")
	if addr == "" {
		t.Skip("set SMOKE_TUTTI_TLS_ADDR=host:port of a tutti server with TLS and API keys, and " +
			"SMOKE_TUTTI_TLS_CA, SMOKE_TUTTI_TLS_OTHER_CA, SMOKE_TUTTI_TLS_TOKEN (scripts/test-clients.sh does)")
	}
	token := tlsEnv(t, "SMOKE_TUTTI_TLS_TOKEN")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	personID := "go-tls-" + tutti.NewRequestID()[:12]
	name := tutti.PersonName(personID)
	dial := func(opts ...grpc.DialOption) *tutti.Client {
		c, err := tutti.New(addr, opts...)
		if err != nil {
			t.Fatalf("tutti.New(%q): %v", addr, err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	createPerson := func(c *tutti.Client) error {
		_, err := c.People.CreatePerson(ctx, &tuttiv1.CreatePersonRequest{RequestId: tutti.NewRequestID(), PersonId: personID})
		return err
	}

	// Trusting the server's CA and sending the key: a write and a read succeed.
	c := dial(rootCA(t, "SMOKE_TUTTI_TLS_CA"), tutti.WithBearerToken(token))
	if err := createPerson(c); err != nil {
		t.Fatalf("CreatePerson over TLS with the key: %v", err)
	}
	got, err := c.People.GetPerson(ctx, &tuttiv1.GetPersonRequest{Name: name})
	if err != nil {
		t.Fatalf("GetPerson over TLS with the key: %v", err)
	}
	if got.GetPerson().GetName() != name {
		t.Errorf("GetPerson name = %q, want %q", got.GetPerson().GetName(), name)
	}

	// The same TLS without the key is refused.
	if err := createPerson(dial(rootCA(t, "SMOKE_TUTTI_TLS_CA"))); status.Code(err) != codes.Unauthenticated {
		t.Errorf("CreatePerson without the key: got %v, want Unauthenticated", err)
	}

	// A client trusting only another CA does not accept the server's certificate.
	untrusting := dial(rootCA(t, "SMOKE_TUTTI_TLS_OTHER_CA"), tutti.WithBearerToken(token))
	if err := createPerson(untrusting); status.Code(err) != codes.Unavailable {
		t.Errorf("CreatePerson trusting another CA: got %v, want Unavailable", err)
	}
}
