package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"

	"github.com/privateguard/privateguard/pkg/policy"
)

// Report is the audit's answer: one Result per judged object, and the counts.
// Its JSON is the `-o json` output.
type Report struct {
	Results []Result `json:"results"`
	Summary Summary  `json:"summary"`
}

// Result is what admission would answer for one object.
type Result struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Namespace is the object's namespace, or the one it would be created in.
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Source is the file the object came from, "stdin", or "cluster".
	Source string `json:"source"`
	// Line is the line of Source where the object's document starts, 0 when unknown. Not
	// in the JSON report: SARIF's locations carry it.
	Line int `json:"-"`
	// Allowed is what admission would answer after mutation: no enforced violation.
	Allowed bool `json:"allowed"`
	// Violations are those left after mutation, in enforce or audit mode.
	Violations []policy.Violation `json:"violations"`
	// Mutations are the changes admission makes (enforce) or would make (audit). For a
	// workload they are the changes its pods would get: templates are never mutated.
	Mutations []policy.Change `json:"mutations"`
	// Warnings are what admission would warn about although it admits the object (a
	// workload's are those its pods would get).
	Warnings []policy.Warning `json:"warnings,omitempty"`
	// Exempt are the violations an exception of the policy waives, with its name and
	// reason.
	Exempt []policy.Exemption `json:"exempt,omitempty"`
}

// Warned reports whether the object is allowed but with findings of rules in audit mode
// (violations admission would only warn about, or changes it would make under enforce)
// or warnings.
func (r *Result) Warned() bool {
	if !r.Allowed {
		return false
	}
	for i := range r.Violations {
		if r.Violations[i].Mode == policy.ModeAudit {
			return true
		}
	}
	for i := range r.Mutations {
		if r.Mutations[i].Mode == policy.ModeAudit {
			return true
		}
	}
	return len(r.Warnings) > 0
}

// Mutated reports whether admission changes the object (or, for a workload, its pods).
func (r *Result) Mutated() bool {
	for i := range r.Mutations {
		if r.Mutations[i].Mode == policy.ModeEnforce {
			return true
		}
	}
	return false
}

// Summary counts the results.
type Summary struct {
	// Resources is the number of objects judged.
	Resources int `json:"resources"`
	// Denied is the number admission would deny.
	Denied int `json:"denied"`
	// Warned is the number allowed with findings of rules in audit mode.
	Warned int `json:"warned"`
	// Mutated is the number admission would change (for workloads: whose pods it would).
	Mutated int `json:"mutated"`
	// Skipped is the number of objects not judged: kinds the engine does not judge, and
	// mirror pods. ServiceAccounts are read for IRSA and not counted.
	Skipped int `json:"skipped"`
}

// add counts r.
func (s *Summary) add(r *Result) {
	s.Resources++
	if !r.Allowed {
		s.Denied++
	}
	if r.Warned() {
		s.Warned++
	}
	if r.Mutated() {
		s.Mutated++
	}
}

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	// The report is written result by result, as encoding/json would indent it whole:
	// the JSON of 100,000 results is never held in memory at once.
	bw := bufio.NewWriter(w)
	var buf bytes.Buffer
	encode := func(v any, prefix string) error {
		buf.Reset()
		enc := json.NewEncoder(&buf)
		enc.SetIndent(prefix, "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return err
		}
		_, err := bw.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		return err
	}
	bw.WriteString("{\n  \"results\": [")
	for i := range r.Results {
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n    ")
		if err := encode(&r.Results[i], "    "); err != nil {
			return err
		}
	}
	if len(r.Results) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("],\n  \"summary\": ")
	if err := encode(&r.Summary, "  "); err != nil {
		return err
	}
	bw.WriteString("\n}\n")
	return bw.Flush()
}
