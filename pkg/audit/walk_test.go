package audit

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privateguard/privateguard/pkg/policy"
)

func TestWalkThenJudgementAnswersAsListThenJudge(t *testing.T) {
	p := testPolicy(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ctx := context.Background()

	all, err := (&ClusterLister{Client: (&fakeCluster{objs: clusterObjects()}).reader()}).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := JudgeAt(p, all, "", now)

	cluster := &fakeCluster{objs: clusterObjects()}
	l := &ClusterLister{Client: cluster.reader(), PageSize: 2}
	var facts, judged []Resource
	for i := range policy.Kinds {
		kind := &policy.Kinds[i]
		err := l.Walk(ctx, kind, func(page []Resource) error {
			if kind.Role == policy.RoleFact {
				facts = append(facts, page...)
			} else {
				judged = append(judged, page...)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	got := NewJudgement(p, facts, "", now).Judge(judged)
	// Walk keeps the API server's order, which is the fake's and List's: by namespace
	// and name.
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if diff := cmp.Diff(string(w), string(g)); diff != "" {
		t.Errorf("Walk + Judgement differ from List + JudgeAt (-want +got):\n%s", diff)
	}
}
