// Package policytest reads the engine's scenario fixtures, pkg/policy/testdata/scenarios,
// for the tests of the engine and of its adapters: every adapter is tested on the same
// objects as the engine, instead of on near-copies of them. It is imported by tests only.
package policytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/privateguard/privateguard/pkg/policy"
)

// Testdata is the engine's testdata directory, wherever the test runs from.
var Testdata = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata")
}()

// Scenario is testdata/scenarios/<name>/input.yaml: an object, the facts about it and
// the policy (testdata/policies/<policy>.yaml) it is judged by.
type Scenario struct {
	// Name is the scenario's directory name; Dir the directory.
	Name, Dir   string `json:"-"`
	Description string `json:"description"`
	Policy      string `json:"policy"`
	IRSA        IRSA   `json:"irsa"`
	// RegionalOptOut: the pod's service account is annotated
	// eks.amazonaws.com/sts-regional-endpoints: "false".
	RegionalOptOut bool `json:"stsRegionalOptOut,omitempty"`
	// IngressClass is what an adapter would have looked up about an Ingress's class;
	// absent, classes cannot be looked up.
	IngressClass *policy.IngressClassFacts `json:"ingressClass,omitempty"`
	// Now is when the object is judged (exceptions' expiry).
	Now    time.Time       `json:"now,omitempty"`
	Object json.RawMessage `json:"object"`
	Old    json.RawMessage `json:"old,omitempty"`
}

// Kind is the kind of the scenario's object.
func (s *Scenario) Kind() string {
	var meta struct {
		Kind string `json:"kind"`
	}
	_ = json.Unmarshal(s.Object, &meta)
	return meta.Kind
}

// Facts are the facts an adapter would gather for the object: its namespace and the
// scenario's IRSA fact.
func (s *Scenario) Facts() policy.Facts {
	var meta struct {
		Metadata struct {
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(s.Object, &meta)
	return policy.Facts{Namespace: meta.Metadata.Namespace, ServiceAccountIRSA: policy.IRSAFact(s.IRSA),
		ServiceAccountRegionalOptOut: s.RegionalOptOut, IngressClass: s.IngressClass, Now: s.Now}
}

// IRSA is a scenario's irsa fact: true, false, or "unknown" (the lookup failed).
type IRSA policy.IRSAFact

// UnmarshalJSON reads true, false or "unknown".
func (i *IRSA) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true":
		*i = IRSA(policy.IRSAYes)
	case "false", "null":
		*i = IRSA(policy.IRSANo)
	case `"unknown"`:
		*i = IRSA(policy.IRSAUnknown)
	default:
		return fmt.Errorf("irsa: %s is not true, false or \"unknown\"", data)
	}
	return nil
}

// Scenarios reads every scenario, in directory order.
func Scenarios(t testing.TB) []Scenario {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(Testdata, "scenarios", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no scenarios under %s (%v)", Testdata, err)
	}
	out := make([]Scenario, 0, len(dirs))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, "input.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		sc := Scenario{Name: filepath.Base(dir), Dir: dir}
		if err := yaml.UnmarshalStrict(data, &sc); err != nil {
			t.Fatalf("%s/input.yaml: %v", dir, err)
		}
		out = append(out, sc)
	}
	return out
}

var (
	policiesMu sync.Mutex
	policies   = map[string]*policy.Policy{}
)

// Policy loads testdata/policies/<name>.yaml, once per test binary.
func Policy(t testing.TB, name string) *policy.Policy {
	t.Helper()
	policiesMu.Lock()
	defer policiesMu.Unlock()
	if p, ok := policies[name]; ok {
		return p
	}
	p, err := policy.Load(filepath.Join(Testdata, "policies", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	policies[name] = p
	return p
}

// Decode decodes a scenario object strictly into a new T.
func Decode[T any](t testing.TB, data []byte) *T {
	t.Helper()
	if len(data) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	out := new(T)
	if err := dec.Decode(out); err != nil {
		t.Fatalf("decode object: %v", err)
	}
	return out
}
