package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"

	"github.com/privateguard/privateguard/internal/fakeapi"
	"github.com/privateguard/privateguard/pkg/policy"
	"github.com/privateguard/privateguard/pkg/serviceaccount"
)

// irsaReview is a pod review in namespace shop running as serviceAccount.
func irsaReview(t *testing.T, serviceAccount string) []byte {
	t.Helper()
	var review map[string]any
	if err := json.Unmarshal(podReview(t, "shop", "111122223333.dkr.ecr.us-west-2.amazonaws.com/web:1"), &review); err != nil {
		t.Fatal(err)
	}
	obj := review["request"].(map[string]any)["object"].(map[string]any)
	obj["spec"].(map[string]any)["serviceAccountName"] = serviceAccount
	body, _ := json.Marshal(review)
	return body
}

// logLines counts the lines logged, and keeps the error ones.
type logLines struct {
	mu     sync.Mutex
	errors []string
}

func (l *logLines) sink(prefix, args string) {
	if strings.Contains(args, `"error"`) {
		l.mu.Lock()
		l.errors = append(l.errors, prefix+" "+args)
		l.mu.Unlock()
	}
}

// TestServeRecoversFromAnAPIServerBrownout starts a replica while the API server hangs:
// it is ready within its sync grace (lookups go direct), fails lookups during the outage
// with a few short log lines, and looks service accounts up again as soon as the API
// server is back, its cache syncing shortly after.
func TestServeRecoversFromAnAPIServerBrownout(t *testing.T) {
	role := map[string]string{policy.IRSARoleAnnotation: "arn:aws:iam::111122223333:role/web"}
	api := fakeapi.New(map[string]map[string]string{"shop/web": role})
	api.SetOutage(fakeapi.Hang)

	logs := &logLines{}
	o, ca := testOptions(t, examplePolicy)
	o.ServiceAccounts = true
	o.Kubeconfig = api.Start(t)
	o.Logger = funcr.New(logs.sink, funcr.Options{})
	o.ServiceAccountCache = serviceaccount.CacheOptions{SyncGrace: time.Second, ListTimeout: 2 * time.Second, WatchIdleTimeout: 10 * time.Second}
	started := time.Now()
	srv := startServer(t, o, ca) // waits for /readyz
	t.Logf("ready %s after start with the API server hanging", time.Since(started).Round(10*time.Millisecond))

	injected := func(sa string) bool {
		return strings.Contains(string(srv.post(t, MutatePath, "application/json", irsaReview(t, sa)).Patch), "AWS_STS_REGIONAL_ENDPOINTS")
	}
	t.Run("lookups fail during the outage, logged in a few short lines", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() { defer wg.Done(); _ = injected("web") }()
		}
		wg.Wait()
		api.SetOutage(fakeapi.InternalError)
		for range 20 {
			_ = injected("web")
		}
		logs.mu.Lock()
		defer logs.mu.Unlock()
		if len(logs.errors) == 0 || len(logs.errors) > 4 {
			t.Errorf("%d error lines for 40 failed lookups of 2 causes, want 1 or 2 per cause:\n%s", len(logs.errors), strings.Join(logs.errors, "\n"))
		}
		for _, line := range logs.errors {
			if len(line) > 1000 || strings.Contains(line, "goroutine") || strings.Contains(line, "etcdserver") {
				t.Errorf("error line of %d bytes, want one short line: %.300s", len(line), line)
			}
		}
	})
	t.Run("lookups work again as soon as the API server is back", func(t *testing.T) {
		api.SetOutage(fakeapi.Up)
		recovered := time.Now()
		deadline := recovered.Add(5 * time.Second)
		for !injected("web") {
			if time.Now().After(deadline) {
				t.Fatal("an IRSA pod still got no AWS_STS_REGIONAL_ENDPOINTS 5s after the API server recovered")
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("lookups recovered %s after the API server", time.Since(recovered).Round(10*time.Millisecond))
	})
	t.Run("the cache syncs within 30s of the recovery", func(t *testing.T) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			before := len(api.Gets())
			_ = injected("web")
			after := len(api.Gets())
			if after == before {
				return // answered from the cache
			}
			if time.Now().After(deadline) {
				t.Fatal("still asking the API server for every pod 30s after it recovered")
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}

// TestServeLooksUpABurstOfNewServiceAccounts sends a rollout's worth of pods, each with
// its own new IRSA service account, 64 at a time: every one must be looked up in time.
// Before, client-go's rate limiter (20 QPS) refused most lookups at once ("would exceed
// context deadline") and the pods went through without their STS variables.
func TestServeLooksUpABurstOfNewServiceAccounts(t *testing.T) {
	role := map[string]string{policy.IRSARoleAnnotation: "arn:aws:iam::111122223333:role/web"}
	api := fakeapi.New(nil)
	o, ca := testOptions(t, examplePolicy)
	o.ServiceAccounts = true
	o.Kubeconfig = api.Start(t)
	srv := startServer(t, o, ca)

	const pods = 400
	for i := range pods {
		api.Put(fmt.Sprintf("shop/sa-%d", i), role)
	}
	srv.client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64

	var missed atomic.Int32
	work := make(chan int)
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				resp, err := srv.client.Post(srv.webhookURL+MutatePath, "application/json", strings.NewReader(string(irsaReview(t, fmt.Sprintf("sa-%d", i)))))
				if err != nil {
					missed.Add(1)
					continue
				}
				var review struct {
					Response struct {
						Patch []byte `json:"patch"`
					} `json:"response"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&review)
				resp.Body.Close()
				if !strings.Contains(string(review.Response.Patch), "AWS_STS_REGIONAL_ENDPOINTS") {
					missed.Add(1)
				}
			}
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range pods {
		select {
		case work <- i:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	if n := missed.Load(); n > 0 {
		t.Errorf("%d of %d pods with new IRSA service accounts went through without AWS_STS_REGIONAL_ENDPOINTS", n, pods)
	}
}
