package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// ManifestReader reads Kubernetes objects from manifest files, directories and stdin.
type ManifestReader struct {
	// Stdin is read for the path "-".
	Stdin io.Reader
	// Kinds, when set, limits the objects decoded and returned to the kinds for which it
	// is true; the others are read past (their documents must still be YAML or JSON
	// objects with apiVersion and kind). Nil: every object.
	Kinds func(schema.GroupVersionKind) bool
}

// Errors of reading manifests.
var (
	// ErrNoManifests is returned for a directory without any *.yaml, *.yml or *.json file:
	// a mistyped path must not pass as "nothing would be denied".
	ErrNoManifests = errors.New("no *.yaml, *.yml or *.json files")
	// ErrStdinTwice is returned when "-" is given more than once.
	ErrStdinTwice = errors.New("stdin (-) can be read only once")
)

// InputError is a problem with one input: a file that cannot be read, or one of its
// documents that is not a Kubernetes object the audit can read.
type InputError struct {
	// Source is the file, or "stdin".
	Source string
	// Document is the document's position in the file, from 1; 0 for the file as a whole.
	Document int
	Err      error
}

func (e *InputError) Error() string {
	if e.Document == 0 {
		return e.Source + ": " + e.Err.Error()
	}
	return fmt.Sprintf("%s: document %d: %v", e.Source, e.Document, e.Err)
}

func (e *InputError) Unwrap() error { return e.Err }

// manifestExtensions are the file name extensions read from directories. A file named
// explicitly is read whatever its name.
var manifestExtensions = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// Read reads every object of paths, in order. A path is a file, a directory (its
// *.yaml, *.yml and *.json files, recursively, in lexical order; hidden files and
// directories such as .git or .github are skipped) or "-" for Stdin. Documents that are
// empty or only comments are skipped. Every problem is reported, as *InputError values
// joined with errors.Join; objects are returned only when there is none.
func (r *ManifestReader) Read(paths []string) ([]Resource, error) {
	var resources []Resource
	if err := r.Walk(paths, func(res Resource) { resources = append(resources, res) }); err != nil {
		return nil, err
	}
	return resources, nil
}

// Walk reads paths as Read does, calling fn with each object as it is decoded instead of
// keeping them: an audit of 100,000 pods holds one at a time. It returns every problem
// as Read does; fn has then been called for the objects read before and after them.
func (r *ManifestReader) Walk(paths []string, fn func(Resource)) error {
	var (
		errs      []error
		readStdin bool
	)
	for _, p := range paths {
		if p == "-" {
			if readStdin {
				errs = append(errs, &InputError{Source: StdinSource, Err: ErrStdinTwice})
				continue
			}
			readStdin = true
			errs = append(errs, readManifest(StdinSource, r.Stdin, r.Kinds, fn)...)
			continue
		}
		files, err := manifestFiles(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range files {
			errs = append(errs, readFile(f, r.Kinds, fn)...)
		}
	}
	return errors.Join(errs...)
}

// manifestFiles is path itself when it is a file, or the manifests under it when it is
// a directory.
func manifestFiles(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, &InputError{Source: path, Err: unwrapPathError(err)}
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return &InputError{Source: p, Err: unwrapPathError(err)}
		}
		if p != path && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && manifestExtensions[strings.ToLower(filepath.Ext(p))] {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, &InputError{Source: path, Err: ErrNoManifests}
	}
	return files, nil
}

func readFile(path string, kinds func(schema.GroupVersionKind) bool, fn func(Resource)) []error {
	f, err := os.Open(path)
	if err != nil {
		return []error{&InputError{Source: path, Err: unwrapPathError(err)}}
	}
	defer f.Close()
	return readManifest(path, f, kinds, fn)
}

// readManifest reads the documents of one input as `kubectl apply -f` does (the
// resource builder's FileVisitor and StreamVisitor): a byte order mark is honoured, the
// input is split into documents on `---` lines by apimachinery's YAML reader, and each
// document is YAML or JSON (see documentJSON), so a .yaml file may hold JSON documents
// between `---` lines and a .json file may hold a stream of objects.
func readManifest(source string, in io.Reader, kinds func(schema.GroupVersionKind) bool, fn func(Resource)) []error {
	var errs []error
	serr := eachDocument(in, func(doc, line int, jsonData []byte, err error) {
		var objs []runtime.Object
		if err == nil {
			objs, err = decodeObjects(jsonData, kinds)
		}
		if err != nil {
			errs = append(errs, &InputError{Source: source, Document: doc, Err: err})
			return
		}
		for _, obj := range objs {
			fn(Resource{Object: obj, Source: source, Line: line})
		}
	})
	if serr != nil {
		errs = append(errs, &InputError{Source: source, Document: serr.doc, Err: serr.err})
	}
	return errs
}

// eachDocument calls fn with the JSON of every non-empty document of in, numbered from 1
// (empty and comment-only documents are counted, then skipped), with the line where its
// object starts, or with the error that makes a document unreadable; such an error does
// not stop the reading, as documents are split on `---` lines. An invalid separator, or
// an input that cannot be read, does, and is returned.
func eachDocument(in io.Reader, fn func(doc, line int, jsonData []byte, err error)) *streamError {
	// As kubectl: a UTF-8 byte order mark is dropped, UTF-16 with one is decoded.
	lines := &lineCounter{r: transform.NewReader(in, unicode.BOMOverride(unicode.UTF8.NewDecoder()))}
	buffered := bufio.NewReader(lines)
	reader := utilyaml.NewYAMLReader(buffered)
	doc := 0
	for {
		raw, err := reader.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var syntax utilyaml.YAMLSyntaxError
			if errors.As(err, &syntax) {
				return &streamError{doc: doc + 1, err: fmt.Errorf("invalid YAML: %w", err)}
			}
			return &streamError{err: unwrapPathError(err)}
		}
		doc = documentJSON(raw, lines.documentStart(raw, buffered.Buffered()), doc, fn)
	}
}

// lineCounter tells the line where each document the YAML reader returns starts. The
// reader hands out a document without the `---` line that ended it (and normalizes line
// ends); lineCounter keeps the bytes the bufio.Reader above it has read and not yet been
// accounted for, so that once a document is returned the lines consumed for it can be
// counted: the document's, and the separator that ended it. Lines consumed and not
// returned otherwise are counted too, should the reader ever skip any.
type lineCounter struct {
	r io.Reader
	// pending are the bytes read from r after the last document accounted for.
	pending []byte
	// line is the number of lines before pending.
	line int
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.pending = append(c.pending, p[:n]...)
	return n, err
}

// documentStart accounts for the document raw the YAML reader has just returned,
// buffered bytes being read ahead and not yet consumed, and returns the line where raw
// starts, from 1.
func (c *lineCounter) documentStart(raw []byte, buffered int) int {
	consumed := c.pending[:len(c.pending)-buffered]
	consumedLines := bytes.Count(consumed, []byte("\n"))
	if len(consumed) > 0 && consumed[len(consumed)-1] != '\n' {
		consumedLines++ // the last line, without a newline at the end of the input
	}
	// The reader ends every line of raw with one newline (CRLF becomes LF).
	rawLines := bytes.Count(raw, []byte("\n"))
	ended := 0
	if lastLine(consumed) != nil && bytes.HasPrefix(lastLine(consumed), []byte("---")) {
		ended = 1 // the separator that ended the document
	}
	skipped := consumedLines - rawLines - ended
	start := c.line + skipped + 1
	c.line += bytes.Count(consumed, []byte("\n"))
	c.pending = append(c.pending[:0], c.pending[len(consumed):]...)
	return start
}

// lastLine is the last line of b, without its newline; nil for an empty b.
func lastLine(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	if len(b) == 0 {
		return nil
	}
	return b[bytes.LastIndexByte(b, '\n')+1:]
}

// documentJSON calls fn with the JSON of raw, one `---`-separated document starting at
// line, numbering from after doc, and returns the last number used. A document that
// starts with `{` is read as JSON, and may be a stream of several objects, as a .json
// file of concatenated objects is. When its first object is not JSON (a YAML flow mapping
// such as `{apiVersion: v1, ...}`), it is read as YAML, as kubectl's YAMLOrJSONDecoder
// falls back to YAML. YAML is converted strictly: a duplicated key is an error. The line
// given to fn is that of the object's first character: after blank and comment lines.
func documentJSON(raw []byte, line, doc int, fn func(doc, line int, jsonData []byte, err error)) int {
	if utilyaml.IsJSONBuffer(raw) {
		dec := json.NewDecoder(bytes.NewReader(raw))
		for first := true; ; first = false {
			var value json.RawMessage
			offset := dec.InputOffset()
			err := dec.Decode(&value)
			if err == io.EOF {
				return doc
			}
			if err != nil && first {
				break
			}
			doc++
			valueLine := line + bytes.Count(raw[:offset], []byte("\n")) + leadingLines(raw[offset:])
			if err != nil {
				// The rest of the document cannot be split into objects.
				fn(doc, valueLine, nil, fmt.Errorf("invalid JSON: %w", err))
				return doc
			}
			if !isEmptyDocument(value) {
				fn(doc, valueLine, value, nil)
			}
		}
	}
	doc++
	jsonData, err := yaml.YAMLToJSONStrict(raw)
	switch {
	case err != nil:
		fn(doc, line, nil, fmt.Errorf("invalid YAML: %w", err))
	case !isEmptyDocument(jsonData):
		fn(doc, line+leadingLines(raw), jsonData, nil)
	}
	return doc
}

// leadingLines counts the lines at the start of b that hold only spaces, a comment, or a
// `---` separator (the YAML reader keeps a separator that follows another one, or starts
// the input, at the start of the next document).
func leadingLines(b []byte) int {
	n := 0
	for len(b) > 0 {
		end := bytes.IndexByte(b, '\n')
		if end < 0 {
			return n
		}
		if l := bytes.TrimSpace(b[:end]); len(l) > 0 && l[0] != '#' && !bytes.HasPrefix(b, []byte("---")) {
			return n
		}
		n, b = n+1, b[end+1:]
	}
	return n
}

// streamError is a problem that stops the reading of an input at document doc, 0 for
// the input as a whole.
type streamError struct {
	doc int
	err error
}

// isEmptyDocument reports whether a document holds nothing: only comments or null.
func isEmptyDocument(jsonData []byte) bool {
	s := bytes.TrimSpace(jsonData)
	return len(s) == 0 || bytes.Equal(s, []byte("null"))
}

// unwrapPathError drops the *fs.PathError's repetition of the path, which the
// InputError names already.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
