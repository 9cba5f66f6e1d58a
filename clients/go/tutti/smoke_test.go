package tutti_test

// Smoke test of the Go client against a running Tutti server. It runs only
// when SMOKE_TUTTI_ADDR names one (scripts/test-clients.sh starts a server and
// sets it); otherwise it is skipped.

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
