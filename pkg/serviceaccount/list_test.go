package serviceaccount

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/watchlist"

	"github.com/privateguard/privateguard/internal/fakeapi"
	"github.com/privateguard/privateguard/pkg/policy"
)

// pagedServer serves n service accounts (one in ten IRSA) through the fake API server,
// in the pages the requests ask for, and returns a metadata client of it. fail, when
// set, answers a request instead.
func pagedServer(t *testing.T, n int, fail func(http.ResponseWriter, *http.Request) bool) (*fakeapi.Server, metadata.Interface) {
	t.Helper()
	api := fakeapi.New(nil)
	for i := range n {
		var annotations map[string]string
		if i%10 == 0 {
			annotations = map[string]string{policy.IRSARoleAnnotation: fmt.Sprintf("arn:aws:iam::111122223333:role/app-%d", i)}
		}
		api.Put(fmt.Sprintf("team-%d/app-%04d", i%3, i), annotations)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail == nil || !fail(w, r) {
			api.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	client, err := metadata.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return api, client
}

func TestListAccountsReadsPagesOfTheLatestState(t *testing.T) {
	api, client := pagedServer(t, 1234, nil)
	list, err := listAccounts(context.Background(), client.Resource(serviceAccountsResource), time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	var pages []string
	for _, q := range api.Lists() {
		pages = append(pages, q.Encode())
	}
	if want := []string{"limit=500", "continue=500&limit=500", "continue=1000&limit=500"}; !slices.Equal(pages, want) {
		t.Errorf("list requests %q, want %q: pages of 500 of the latest state", pages, want)
	}
	if len(list.Items) != 1234 || cap(list.Items) != 1234 || list.ResourceVersion != "1" {
		t.Fatalf("%d items (room for %d) at resource version %q, want 1234 at 1", len(list.Items), cap(list.Items), list.ResourceVersion)
	}
	byKey := map[string]Facts{}
	for _, a := range list.Items {
		byKey[a.key] = a.facts
	}
	for _, i := range []int{0, 1, 1230, 1233} {
		key := fmt.Sprintf("team-%d/app-%04d", i%3, i)
		if f, ok := byKey[key]; !ok || f != (Facts{IRSA: i%10 == 0}) {
			t.Errorf("%s: %+v (listed %v), want IRSA %v", key, f, ok, i%10 == 0)
		}
	}
}

func TestListAccountsNamesTheFailingPage(t *testing.T) {
	_, client := pagedServer(t, 1200, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Query().Get("continue") != "1000" {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusGone)
		_, _ = fmt.Fprint(w, `{"apiVersion":"v1","kind":"Status","status":"Failure","reason":"Expired","code":410,"message":"the continue token expired"}`)
		return true
	})
	_, err := listAccounts(context.Background(), client.Resource(serviceAccountsResource), time.Second, nil)
	if !apierrors.IsResourceExpired(err) || !strings.HasPrefix(err.Error(), "list service accounts (page 3): ") {
		t.Errorf("error %v, want the expiry of page 3, still an expiry for the reflector to list again", err)
	}
}

func TestListAccountsRefusesARepeatedContinueToken(t *testing.T) {
	_, client := pagedServer(t, 0, func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprint(w, `{"apiVersion":"meta.k8s.io/v1","kind":"PartialObjectMetadataList","metadata":{"continue":"again"},"items":[]}`)
		return true
	})
	_, err := listAccounts(context.Background(), client.Resource(serviceAccountsResource), time.Second, nil)
	if err == nil || !strings.Contains(err.Error(), "page 2") {
		t.Errorf("error %v, want the list stopped at the repeated token of page 2", err)
	}
}

func TestCacheSyncsFromAPagedList(t *testing.T) {
	api, client := pagedServer(t, 1001, nil)
	c := startCache(t, client)
	for key, want := range map[string]Facts{"team-0/app-0000": {IRSA: true}, "team-1/app-0001": {}, "team-1/app-1000": {IRSA: true}} {
		if f, found := c.index.get(key); !found || f != want {
			t.Errorf("%s: %+v (found %v), want %+v", key, f, found, want)
		}
	}
	if n := len(api.Lists()); n != 3 {
		t.Errorf("%d list requests, want 3", n)
	}
}

func TestCacheListsAgainAfterAnExpiredWatch(t *testing.T) {
	api, client := pagedServer(t, 3, nil)
	c := startCache(t, client)
	api.Delete("team-1/app-0001")
	api.Put("team-0/app-new", map[string]string{policy.IRSARoleAnnotation: "arn:aws:iam::111122223333:role/new"})
	api.ExpireWatches()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, deleted := c.index.get("team-1/app-0001")
		added, _ := c.index.get("team-0/app-new")
		if !deleted && added.IRSA {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10s after the watch expired the index still has the deleted service account (%v) or lacks the new one (%v)", deleted, !added.IRSA)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(api.Lists()); n != 2 {
		t.Errorf("%d lists, want 2: the first, and one after the watch expired", n)
	}
}

func TestCacheCollectsEagerlyOnlyWhileListing(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	gogc := func() int { v := debug.SetGCPercent(-1); debug.SetGCPercent(v); return v }
	var mu sync.Mutex
	var duringList []int
	_, client := pagedServer(t, 1200, func(_ http.ResponseWriter, r *http.Request) bool {
		if r.URL.Query().Get("watch") != "true" {
			mu.Lock()
			duringList = append(duringList, gogc())
			mu.Unlock()
		}
		return false
	})
	startCache(t, client)
	mu.Lock()
	defer mu.Unlock()
	// The first request is answered at the process's setting: until an answer comes, a
	// list makes no garbage (the API server may be away).
	if want := []int{100, listGCPercent, listGCPercent}; !slices.Equal(duringList, want) {
		t.Errorf("GOGC as the three pages of the list were asked for: %v, want %v", duringList, want)
	}
	if v := gogc(); v != 100 {
		t.Errorf("GOGC %d once the cache has synced, want the process's 100", v)
	}
}

func TestTheCacheDoesNotStreamTheInitialList(t *testing.T) {
	// A streamed list (WatchListClient) keeps every object in the reflector's temporary
	// store until the stream ends.
	if !watchlist.DoesClientNotSupportWatchListSemantics(listOnly{}) {
		t.Error("the reflector would stream the initial list")
	}
}

func TestAccountListCopies(t *testing.T) {
	l := &accountList{ListMeta: metav1.ListMeta{ResourceVersion: "3"}, Items: []*account{{key: "a/b", facts: Facts{IRSA: true}}}}
	c := l.DeepCopyObject().(*accountList)
	c.Items[0].facts.IRSA = false
	if !l.Items[0].facts.IRSA || c.ResourceVersion != "3" || c.Items[0].key != "a/b" {
		t.Errorf("copy %+v of %+v shares its items or lost them", c, l)
	}
}

func TestCollectEagerlyRestoresTheProcessSetting(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	first := collectEagerly()
	second := collectEagerly()
	if got := debug.SetGCPercent(listGCPercent); got != listGCPercent {
		t.Errorf("GOGC %d while listing, want %d", got, listGCPercent)
	}
	first()
	first() // twice: no effect
	if got := debug.SetGCPercent(listGCPercent); got != listGCPercent {
		t.Errorf("GOGC %d while another cache still lists, want %d", got, listGCPercent)
	}
	second()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC %d after the lists, want the process's 100 back", got)
	}

	debug.SetGCPercent(-1) // GOGC=off stays off
	collectEagerly()()
	if got := debug.SetGCPercent(100); got != -1 {
		t.Errorf("GOGC %d after a list with the collector off, want it still off", got)
	}
}
