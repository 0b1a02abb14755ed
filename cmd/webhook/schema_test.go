package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestSARIFGoldensAreValid validates every SARIF golden against the SARIF 2.1.0 JSON
// schema (testdata/schema/README.md says where it comes from).
func TestSARIFGoldensAreValid(t *testing.T) {
	schemaFile, err := os.Open(filepath.Join(packageDir, "testdata", "schema", "sarif-schema-2.1.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer schemaFile.Close()
	doc, err := jsonschema.UnmarshalJSON(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	const url = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	files := goldens(t, ".sarif")
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			f, err := os.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			inst, err := jsonschema.UnmarshalJSON(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(inst); err != nil {
				t.Errorf("%s is not valid SARIF 2.1.0:\n%v", name, err)
			}
		})
	}
	t.Run("the schema rejects a log it should", func(t *testing.T) {
		var bad any
		if err := json.Unmarshal([]byte(`{"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": [{"level": "fatal", "message": {"text": "x"}}]}]}`), &bad); err != nil {
			t.Fatal(err)
		}
		if schema.Validate(bad) == nil {
			t.Error("a driver without name and a level \"fatal\" pass the schema: is it loaded?")
		}
	})
}

// TestJUnitGoldensAreValid checks every JUnit golden against the JUnit schema
// testdata/schema/junit-10.xsd, read by xsdSubset.
func TestJUnitGoldensAreValid(t *testing.T) {
	schema, err := readXSDSubset(filepath.Join(packageDir, "testdata", "schema", "junit-10.xsd"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range goldens(t, ".xml") {
		t.Run(filepath.Base(name), func(t *testing.T) {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.validate(data); err != nil {
				t.Errorf("%s does not follow junit-10.xsd: %v", name, err)
			}
		})
	}
	for name, doc := range map[string]string{
		"a testsuite without its required failures": `<testsuites><testsuite name="a" tests="1" errors="0"/></testsuites>`,
		"an attribute the schema does not have":     `<testsuites><testsuite name="a" tests="1" failures="0" errors="0"><testcase name="x" file="a.yaml"/></testsuite></testsuites>`,
		"a child the schema does not allow":         `<testsuites><testcase name="x"/></testsuites>`,
		"text in an element without mixed content":  `<testsuites>hello</testsuites>`,
	} {
		t.Run("rejects "+name, func(t *testing.T) {
			if schema.validate([]byte(doc)) == nil {
				t.Errorf("%s passes", doc)
			}
		})
	}
}

// goldens lists the golden files with extension ext; there must be some.
func goldens(t *testing.T, ext string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(goldenDir(), "*"+ext))
	if err != nil || len(files) == 0 {
		t.Fatalf("no *%s goldens (%v)", ext, err)
	}
	return files
}

// xsdSubset is what an XML schema says of its top-level elements, for the features
// junit-10.xsd uses: attributes (and which are required, and the pattern of a named
// simple type), children by ref, and whether text is allowed (mixed content, or a
// simple type such as xs:string).
type xsdSubset struct {
	elements map[string]*xsdElement
}

type xsdElement struct {
	attrs    map[string]xsdAttr
	children map[string]bool
	text     bool
}

type xsdAttr struct {
	required bool
	pattern  *regexp.Regexp
}

// The parts of an XSD document the subset reads.
type (
	xsdSchema struct {
		SimpleTypes  []xsdSimpleType  `xml:"simpleType"`
		ComplexTypes []xsdComplexType `xml:"complexType"`
		Elements     []xsdElementDecl `xml:"element"`
	}
	xsdSimpleType struct {
		Name    string `xml:"name,attr"`
		Pattern struct {
			Value string `xml:"value,attr"`
		} `xml:"restriction>pattern"`
	}
	xsdComplexType struct {
		Name       string        `xml:"name,attr"`
		Mixed      bool          `xml:"mixed,attr"`
		Attributes []xsdAttrDecl `xml:"attribute"`
		// Children anywhere under sequence and choice, nested or not.
		Refs  []xsdElementDecl `xml:"sequence>element"`
		Refs2 []xsdElementDecl `xml:"choice>element"`
		Refs3 []xsdElementDecl `xml:"sequence>choice>element"`
	}
	xsdElementDecl struct {
		Name        string          `xml:"name,attr"`
		Ref         string          `xml:"ref,attr"`
		Type        string          `xml:"type,attr"`
		ComplexType *xsdComplexType `xml:"complexType"`
	}
	xsdAttrDecl struct {
		Name string `xml:"name,attr"`
		Type string `xml:"type,attr"`
		Use  string `xml:"use,attr"`
	}
)

func readXSDSubset(path string) (*xsdSubset, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s xsdSchema
	if err := xml.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	patterns := map[string]*regexp.Regexp{}
	for _, st := range s.SimpleTypes {
		patterns[st.Name] = regexp.MustCompile("^(?:" + st.Pattern.Value + ")$")
	}
	complexTypes := map[string]*xsdComplexType{}
	for i := range s.ComplexTypes {
		complexTypes[s.ComplexTypes[i].Name] = &s.ComplexTypes[i]
	}
	subset := &xsdSubset{elements: map[string]*xsdElement{}}
	for _, decl := range s.Elements {
		ct := decl.ComplexType
		if ct == nil {
			ct = complexTypes[decl.Type]
		}
		el := &xsdElement{attrs: map[string]xsdAttr{}, children: map[string]bool{}}
		if ct == nil {
			// A simple type such as xs:string: text, no attributes, no children.
			el.text = true
			subset.elements[decl.Name] = el
			continue
		}
		el.text = ct.Mixed
		for _, a := range ct.Attributes {
			el.attrs[a.Name] = xsdAttr{required: a.Use == "required", pattern: patterns[a.Type]}
		}
		for _, refs := range [][]xsdElementDecl{ct.Refs, ct.Refs2, ct.Refs3} {
			for _, r := range refs {
				name := r.Ref
				if name == "" {
					name = r.Name
				}
				el.children[name] = true
			}
		}
		subset.elements[decl.Name] = el
	}
	return subset, nil
}

// validate checks doc's elements against the subset: the root and every child allowed,
// every attribute declared, every required attribute present, text only where allowed.
func (s *xsdSubset) validate(doc []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var stack []*xsdElement
	var names []string
	root := true
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			name := tok.Name.Local
			el, ok := s.elements[name]
			where := strings.Join(append(names, name), "/")
			switch {
			case !ok:
				return fmt.Errorf("%s: no such element in the schema", where)
			case root && name != "testsuites" && name != "testsuite":
				return fmt.Errorf("%s: not a root element", where)
			case len(stack) > 0 && !stack[len(stack)-1].children[name]:
				return fmt.Errorf("%s: not a child the schema allows", where)
			}
			root = false
			seen := map[string]bool{}
			for _, a := range tok.Attr {
				decl, ok := el.attrs[a.Name.Local]
				if !ok {
					return fmt.Errorf("%s: attribute %q is not in the schema", where, a.Name.Local)
				}
				if decl.pattern != nil && !decl.pattern.MatchString(a.Value) {
					return fmt.Errorf("%s: attribute %q = %q does not match %s", where, a.Name.Local, a.Value, decl.pattern)
				}
				seen[a.Name.Local] = true
			}
			for attr, decl := range el.attrs {
				if decl.required && !seen[attr] {
					return fmt.Errorf("%s: required attribute %q is missing", where, attr)
				}
			}
			stack, names = append(stack, el), append(names, name)
		case xml.EndElement:
			stack, names = stack[:len(stack)-1], names[:len(names)-1]
		case xml.CharData:
			if len(stack) > 0 && !stack[len(stack)-1].text && len(bytes.TrimSpace(tok)) > 0 {
				return fmt.Errorf("%s: text where the schema allows none", strings.Join(names, "/"))
			}
			if len(stack) == 0 && len(bytes.TrimSpace(tok)) > 0 {
				return errors.New("text outside the root element")
			}
		}
	}
}
