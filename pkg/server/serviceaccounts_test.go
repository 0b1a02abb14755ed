package server

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/privateguard/privateguard/internal/fakeapi"
	"github.com/privateguard/privateguard/pkg/policy"
)

// TestServeLooksUpServiceAccounts runs the server against a fake API server, through a
// kubeconfig: the cache lists the service accounts in pages before /readyz passes, an
// IRSA service account gets its pod the STS variables, and one created after the sync
// is found by a direct GET.
func TestServeLooksUpServiceAccounts(t *testing.T) {
	role := map[string]string{policy.IRSARoleAnnotation: "arn:aws:iam::111122223333:role/web"}
	accounts := map[string]map[string]string{"shop/web": role}
	for i := range 1200 { // three pages
		accounts[fmt.Sprintf("team/sa-%04d", i)] = nil
	}
	accounts["team/sa-1199"] = role // on the last page
	api := fakeapi.New(accounts)

	o, ca := testOptions(t, examplePolicy)
	o.ServiceAccounts = true
	o.Kubeconfig = api.Start(t)
	o.Version = "test"
	srv := startServer(t, o, ca)

	injected := func(t *testing.T, namespace, serviceAccount string) bool {
		t.Helper()
		var review map[string]any
		if err := json.Unmarshal(podReview(t, namespace, "111122223333.dkr.ecr.us-west-2.amazonaws.com/web:1"), &review); err != nil {
			t.Fatal(err)
		}
		obj := review["request"].(map[string]any)["object"].(map[string]any)
		obj["spec"].(map[string]any)["serviceAccountName"] = serviceAccount
		body, _ := json.Marshal(review)
		return strings.Contains(string(srv.post(t, MutatePath, "application/json", body).Patch), "AWS_STS_REGIONAL_ENDPOINTS")
	}
	gets := api.Gets

	t.Run("the list came in pages of 500, each of the latest state", func(t *testing.T) {
		var pages []string
		for _, q := range api.Lists() {
			pages = append(pages, fmt.Sprintf("limit=%s continue=%q resourceVersion=%q", q.Get("limit"), q.Get("continue"), q.Get("resourceVersion")))
		}
		want := []string{`limit=500 continue="" resourceVersion=""`, `limit=500 continue="500" resourceVersion=""`, `limit=500 continue="1000" resourceVersion=""`}
		if !slices.Equal(pages, want) {
			t.Errorf("list requests:\n%s\nwant:\n%s", strings.Join(pages, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("a service account in the cache is answered without a GET", func(t *testing.T) {
		if !injected(t, "shop", "web") {
			t.Error("the IRSA pod got no AWS_STS_REGIONAL_ENDPOINTS")
		}
		if !injected(t, "team", "sa-1199") {
			t.Error("the IRSA pod of a service account on the list's last page got no AWS_STS_REGIONAL_ENDPOINTS")
		}
		if injected(t, "team", "sa-0001") {
			t.Error("a pod of a listed service account without the role got the STS variables")
		}
		if g := gets(); len(g) != 0 {
			t.Errorf("direct GETs %v, want none", g)
		}
	})
	t.Run("a service account created after the sync is found by a direct GET", func(t *testing.T) {
		api.Put("shop/new", role)
		if !injected(t, "shop", "new") {
			t.Error("the new IRSA service account was not seen")
		}
		if g := gets(); len(g) != 1 || g[0] != "shop/new" {
			t.Errorf("direct GETs %v, want [shop/new]", g)
		}
	})
	t.Run("a pod without IRSA gets nothing", func(t *testing.T) {
		if injected(t, "shop", "default") {
			t.Error("a pod of a service account without the role got the STS variables")
		}
	})
	t.Run("the client names itself", func(t *testing.T) {
		if !api.SawUserAgent("privateguard/test") {
			t.Error("no request came with the user agent privateguard/test")
		}
	})
}
