package audit

import (
	"encoding/xml"
	"io"
	"strings"

	"github.com/privateguard/privateguard/pkg/policy"
)

// JUnit XML, as CI systems read test reports (Jenkins, GitLab's artifacts:reports:junit,
// GitHub test-report actions, Azure DevOps): the elements and attributes of the common
// schema (Jenkins xunit's junit-10.xsd), nothing more.

type junitTestSuites struct {
	XMLName  xml.Name         `xml:"testsuites"`
	Name     string           `xml:"name,attr"`
	Tests    int              `xml:"tests,attr"`
	Failures int              `xml:"failures,attr"`
	Errors   int              `xml:"errors,attr"`
	Suites   []junitTestSuite `xml:"testsuite"`
}

type junitTestSuite struct {
	Name     string          `xml:"name,attr"`
	Tests    int             `xml:"tests,attr"`
	Failures int             `xml:"failures,attr"`
	Errors   int             `xml:"errors,attr"`
	Skipped  int             `xml:"skipped,attr"`
	File     string          `xml:"file,attr,omitempty"`
	Cases    []junitTestCase `xml:"testcase"`
}

type junitTestCase struct {
	Name      string         `xml:"name,attr"`
	ClassName string         `xml:"classname,attr"`
	Failures  []junitFailure `xml:"failure"`
	SystemOut *junitText     `xml:"system-out"`
}

// junitText is an element's text, written as CDATA: the lines stay readable.
type junitText struct {
	Text string `xml:",cdata"`
}

type junitFailure struct {
	Type    string `xml:"type,attr"`
	Message string `xml:"message,attr"`
	Text    string `xml:",cdata"`
}

// WriteJUnit writes the report as JUnit XML: a test suite per source (file, "stdin" or
// "cluster", in the order first met), a test case per object, named `Kind
// namespace/name`, and a failure per enforced violation, typed by its rule id. What
// admission would only warn about, change, or tell, is the test case's system-out,
// one finding a line as in the text output. With failOnWarn (--fail-on warn), findings of
// rules in audit mode and warnings are failures too, so that the test report fails
// exactly when the audit does.
func (r *Report) WriteJUnit(w io.Writer, failOnWarn bool) error {
	doc := junitTestSuites{Name: "privateguard audit"}
	suiteOf := map[string]int{}
	for i := range r.Results {
		res := &r.Results[i]
		si, ok := suiteOf[res.Source]
		if !ok {
			si = len(doc.Suites)
			suiteOf[res.Source] = si
			suite := junitTestSuite{Name: res.Source}
			if res.Source != StdinSource && res.Source != ClusterSource {
				suite.File = res.Source
			}
			doc.Suites = append(doc.Suites, suite)
		}
		tc := res.junitTestCase(failOnWarn)
		suite := &doc.Suites[si]
		suite.Cases = append(suite.Cases, tc)
		suite.Tests++
		doc.Tests++
		if len(tc.Failures) > 0 {
			suite.Failures++
			doc.Failures++
		}
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// junitTestCase is res as a test case.
func (res *Result) junitTestCase(failOnWarn bool) junitTestCase {
	tc := junitTestCase{Name: res.Kind + " " + res.Namespace + "/" + res.Name, ClassName: res.Source}
	var out strings.Builder
	note := func(label, text string) { out.WriteString(label + " " + text + "\n") }
	fail := func(rule policy.RuleID, text string) {
		tc.Failures = append(tc.Failures, junitFailure{Type: string(rule), Message: text, Text: text})
	}
	for _, v := range res.Violations {
		switch {
		case v.Mode == policy.ModeEnforce:
			fail(v.Rule, v.Message)
		case failOnWarn:
			fail(v.Rule, "(audit mode) "+v.Message)
		default:
			note("warn  ", v.Message)
		}
	}
	for _, c := range res.Mutations {
		text := c.Path.String() + ": " + c.Description() + " [" + string(c.Rule) + "]"
		switch {
		case c.Mode == policy.ModeEnforce:
			note("change", text)
		case failOnWarn:
			fail(c.Rule, "(audit mode) admission would change "+text)
		default:
			note("would change", text)
		}
	}
	for _, wn := range res.Warnings {
		if failOnWarn {
			fail(wn.Rule, wn.Message)
		} else {
			note("note  ", wn.Message)
		}
	}
	for _, x := range res.Exempt {
		note("exempt", x.Message+" (exception "+x.Exception+": "+x.Reason+")")
	}
	if out.Len() > 0 {
		tc.SystemOut = &junitText{out.String()}
	}
	return tc
}
