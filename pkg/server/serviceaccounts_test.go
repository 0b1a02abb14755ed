package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/privateguard/privateguard/pkg/policy"
)

// fakeAPIServer serves service accounts as metadata, the way the server's cache asks for
// them: a watch with initial events (or a list), and GETs of single ones.
type fakeAPIServer struct {
	// outage, when set, is how every request fails: "hang" holds it until the outage
	// ends or the client gives up, "500" answers an internal error.
	outage atomic.Value // string

	mu         sync.Mutex
	accounts   map[string]map[string]string // namespace/name → annotations
	gets       []string
	userAgents map[string]bool
}

func (f *fakeAPIServer) meta(key string, annotations map[string]string) map[string]any {
	ns, name, _ := strings.Cut(key, "/")
	return map[string]any{
		"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
		"metadata": map[string]any{"namespace": ns, "name": name, "resourceVersion": "1", "annotations": annotations},
	}
}

func (f *fakeAPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch outage, _ := f.outage.Load().(string); outage {
	case "hang":
		for { // until the outage ends (the request is then served) or the client gives up
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
			if o, _ := f.outage.Load().(string); o != "hang" {
				break
			}
		}
	case "500":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = fmt.Fprintf(w, `{"apiVersion":"v1","kind":"Status","status":"Failure","reason":"InternalError","code":500,"message":%q}`, strings.Repeat("etcd is unhappy. ", 150))
		return
	}
	f.mu.Lock()
	f.userAgents[r.UserAgent()] = true
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.URL.Path == "/api/v1/serviceaccounts" && r.URL.Query().Get("watch") == "true":
		flusher := w.(http.Flusher)
		enc := json.NewEncoder(w)
		if r.URL.Query().Get("sendInitialEvents") == "true" {
			f.mu.Lock()
			for key, ann := range f.accounts {
				_ = enc.Encode(map[string]any{"type": "ADDED", "object": f.meta(key, ann)})
			}
			f.mu.Unlock()
			bookmark := map[string]any{
				"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
				"metadata": map[string]any{"resourceVersion": "1", "annotations": map[string]string{"k8s.io/initial-events-end": "true"}},
			}
			_ = enc.Encode(map[string]any{"type": "BOOKMARK", "object": bookmark})
		}
		flusher.Flush()
		<-r.Context().Done()
	case r.URL.Path == "/api/v1/serviceaccounts":
		var items []any
		f.mu.Lock()
		for key, ann := range f.accounts {
			items = append(items, f.meta(key, ann))
		}
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{
			"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadataList",
			"metadata": map[string]any{"resourceVersion": "1"}, "items": items,
		})
	case len(parts) == 6 && parts[2] == "namespaces" && parts[4] == "serviceaccounts":
		key := parts[3] + "/" + parts[5]
		f.mu.Lock()
		f.gets = append(f.gets, key)
		ann, ok := f.accounts[key]
		f.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = fmt.Fprintf(w, `{"apiVersion":"v1","kind":"Status","status":"Failure","reason":"NotFound","code":404}`)
			return
		}
		_ = json.NewEncoder(w).Encode(f.meta(key, ann))
	default:
		http.NotFound(w, r)
	}
}

// TestServeLooksUpServiceAccounts runs the server against a fake API server, through a
// kubeconfig: the cache syncs before /readyz passes, an IRSA service account gets its pod
// the STS variables, and one created after the sync is found by a direct GET.
func TestServeLooksUpServiceAccounts(t *testing.T) {
	role := map[string]string{policy.IRSARoleAnnotation: "arn:aws:iam::111122223333:role/web"}
	api := &fakeAPIServer{accounts: map[string]map[string]string{"shop/web": role}, userAgents: map[string]bool{}}
	apiServer := httptest.NewServer(api)
	t.Cleanup(apiServer.Close)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: %q}}]
users: [{name: fake, user: {token: test}}]
contexts: [{name: fake, context: {cluster: fake, user: fake}}]
current-context: fake
`, apiServer.URL)), 0o600); err != nil {
		t.Fatal(err)
	}

	o, ca := testOptions(t, examplePolicy)
	o.ServiceAccounts = true
	o.Kubeconfig = kubeconfig
	o.Version = "test"
	srv := startServer(t, o, ca)

	injected := func(t *testing.T, serviceAccount string) bool {
		t.Helper()
		var review map[string]any
		if err := json.Unmarshal(podReview(t, "shop", "111122223333.dkr.ecr.us-west-2.amazonaws.com/web:1"), &review); err != nil {
			t.Fatal(err)
		}
		obj := review["request"].(map[string]any)["object"].(map[string]any)
		obj["spec"].(map[string]any)["serviceAccountName"] = serviceAccount
		body, _ := json.Marshal(review)
		return strings.Contains(string(srv.post(t, MutatePath, "application/json", body).Patch), "AWS_STS_REGIONAL_ENDPOINTS")
	}
	gets := func() []string {
		api.mu.Lock()
		defer api.mu.Unlock()
		return append([]string(nil), api.gets...)
	}

	t.Run("a service account in the cache is answered without a GET", func(t *testing.T) {
		if !injected(t, "web") {
			t.Error("the IRSA pod got no AWS_STS_REGIONAL_ENDPOINTS")
		}
		if g := gets(); len(g) != 0 {
			t.Errorf("direct GETs %v, want none", g)
		}
	})
	t.Run("a service account created after the sync is found by a direct GET", func(t *testing.T) {
		api.mu.Lock()
		api.accounts["shop/new"] = role
		api.mu.Unlock()
		if !injected(t, "new") {
			t.Error("the new IRSA service account was not seen")
		}
		if g := gets(); len(g) != 1 || g[0] != "shop/new" {
			t.Errorf("direct GETs %v, want [shop/new]", g)
		}
	})
	t.Run("a pod without IRSA gets nothing", func(t *testing.T) {
		if injected(t, "default") {
			t.Error("a pod of a service account without the role got the STS variables")
		}
	})
	t.Run("the client names itself", func(t *testing.T) {
		api.mu.Lock()
		defer api.mu.Unlock()
		if !api.userAgents["privateguard/test"] {
			t.Errorf("user agents %v, want privateguard/test", api.userAgents)
		}
	})
}
