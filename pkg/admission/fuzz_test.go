package admission

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// FuzzHandlers posts arbitrary bodies to both webhooks, as the webhook server would pass
// them on. Whatever the body, each answers with an AdmissionReview, never with an
// internal error; /mutate never denies, and its patch applies to the request's object.
// Seeded with every fixture.
func FuzzHandlers(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		f.Add(fx.raw)
	}
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","object":{"spec":{"containers":[{"image":"::"}]}}}}`))

	p := staticPolicy{loadTestPolicy(f)}
	sas := testServiceAccounts()
	mutate := &admission.Webhook{Handler: &Mutator{Sources{Policies: p, ServiceAccounts: sas}}}
	validate := &admission.Webhook{Handler: &Validator{Sources{Policies: p, ServiceAccounts: sas}}}

	f.Fuzz(func(t *testing.T, body []byte) {
		for name, wh := range map[string]*admission.Webhook{"mutate": mutate, "validate": validate} {
			r := httptest.NewRequest(http.MethodPost, "/"+name, bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			wh.ServeHTTP(w, r)

			var review admissionv1.AdmissionReview
			if err := json.Unmarshal(w.Body.Bytes(), &review); err != nil || review.Response == nil {
				t.Fatalf("/%s answered %q: not an AdmissionReview with a response (%v)", name, w.Body.String(), err)
			}
			resp := review.Response
			if resp.Result != nil && resp.Result.Code == http.StatusInternalServerError {
				t.Fatalf("/%s: internal error: %s", name, resp.Result.Message)
			}
			if name == "mutate" && !resp.Allowed && resp.Result.Code == http.StatusForbidden {
				t.Fatalf("/mutate denied: %s", resp.Result.Message)
			}
			if len(resp.Patch) > 0 {
				var in admissionv1.AdmissionReview
				if err := json.Unmarshal(body, &in); err != nil || in.Request == nil {
					t.Fatalf("patched a request that does not decode: %v", err)
				}
				patch, err := jsonpatchapply.DecodePatch(resp.Patch)
				if err != nil {
					t.Fatalf("bad patch %s: %v", resp.Patch, err)
				}
				if _, err := patch.Apply(in.Request.Object.Raw); err != nil {
					t.Fatalf("patch %s does not apply to the object: %v", resp.Patch, err)
				}
			}
		}
	})
}
