// Package rules embeds vigil's built-in Sigma rules and decodes the vigil metadata they
// carry as custom top-level attributes (severity word, mitigations, next steps, ...).
package rules

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/vigil-soc/vigil/detect/sigma"
	"go.yaml.in/yaml/v3"
)

//go:embed *.yml
var builtinFS embed.FS

//go:embed LICENSE.Detection.Rules.md
var drlText string

// Builtin returns the built-in rule files, file name -> YAML, for sigma.ParseRules.
// The map is fresh on every call; the byte slices are shared: do not modify them.
func Builtin() map[string][]byte {
	files := map[string][]byte{}
	entries, _ := fs.ReadDir(builtinFS, ".") // embedded: cannot fail
	for _, e := range entries {
		if data, err := builtinFS.ReadFile(e.Name()); err == nil {
			files[e.Name()] = data
		}
	}
	return files
}

// Mitigation is a mitigation as a rule recommends it.
type Mitigation struct {
	ID, Name    string
	Description string // the rule page's one line; the full ATT&CK text is in detect/attack
}

// Standard is a security-standard requirement a rule helps meet.
type Standard struct {
	Framework string // "NIST CSF 2.0"
	ID        string // "DE.CM-01"
	Text      string
}

// String renders the standard as one line: "NIST CSF 2.0 DE.CM-01: Networks ...".
func (s Standard) String() string {
	head := strings.TrimSpace(s.Framework + " " + s.ID)
	switch {
	case head == "":
		return s.Text
	case s.Text == "":
		return head
	}
	return head + ": " + s.Text
}

// Attribution names the upstream rule a rule was derived from, as the Detection Rule
// License asks: its authors, a link, and the licence.
type Attribution struct {
	ID, Title, Author, URL, License string
}

// Metadata is vigil's rule metadata, decoded from a rule's custom attributes. A rule
// without them yields the zero Metadata.
type Metadata struct {
	Severity         string // the rule page's word: "Trouble"
	Mitigations      []Mitigation
	SecurityStandard string // Standard as one line
	Standard         Standard
	ExecutionMode    string // "realtime"
	AttackChain      []string
	Impact           []string
	Prerequisites    []string
	NextSteps        []string
	// SelectedFields are the fields the Event tab leads with, in order (Sigma field
	// names: Computer, Message, CommandLine, ...); SelectedLabels is the page's label for
	// each ("host name", ...), same length, "" where a rule gave none.
	SelectedFields []string
	SelectedLabels []string
	DerivedFrom    Attribution
	// Problems lists attributes present but malformed, each naming the attribute:
	// "mitigations[1].id: want a string, got int". The rest still decodes.
	Problems []string
}

// maxItems bounds each list attribute: rule files come from --rules DIR as well.
const maxItems = 256

// MetadataOf decodes r's vigil metadata from r.Extra. Unknown attributes are ignored;
// malformed ones are reported in Problems, never a panic.
func MetadataOf(r *sigma.Rule) Metadata {
	var m Metadata
	if r == nil || len(r.Extra) == 0 {
		return m
	}
	d := decoder{m: &m}
	x := r.Extra
	m.Severity = d.str(x, "severity")
	m.ExecutionMode = d.str(x, "execution_mode")
	m.AttackChain = d.strs(x, "attack_chain")
	m.Impact = d.strs(x, "impact")
	m.Prerequisites = d.strs(x, "prerequisites")
	m.NextSteps = d.strs(x, "next_steps")

	if v, ok := x["security_standard"]; ok && v != nil {
		switch v := v.(type) {
		case string:
			m.Standard.Text = v
		default:
			if mm, ok := d.mapOf("security_standard", v); ok {
				m.Standard = Standard{
					Framework: d.str(mm, "framework", "security_standard"),
					ID:        d.str(mm, "id", "security_standard"),
					Text:      d.str(mm, "text", "security_standard"),
				}
			}
		}
		m.SecurityStandard = m.Standard.String()
	}
	for i, item := range d.list(x, "mitigations") {
		where := fmt.Sprintf("mitigations[%d]", i)
		switch item := item.(type) {
		case string: // a bare id: "M1042"
			m.Mitigations = append(m.Mitigations, Mitigation{ID: item})
		default:
			if mm, ok := d.mapOf(where, item); ok {
				m.Mitigations = append(m.Mitigations, Mitigation{
					ID:          d.str(mm, "id", where),
					Name:        d.str(mm, "name", where),
					Description: d.str(mm, "description", where),
				})
			}
		}
	}
	for i, item := range d.list(x, "selected_fields") {
		where := fmt.Sprintf("selected_fields[%d]", i)
		switch item := item.(type) {
		case string: // a bare field name
			m.SelectedFields = append(m.SelectedFields, item)
			m.SelectedLabels = append(m.SelectedLabels, "")
		default:
			if mm, ok := d.mapOf(where, item); ok {
				f := d.str(mm, "field", where)
				if f == "" {
					d.problem(where + ".field: missing")
					continue
				}
				m.SelectedFields = append(m.SelectedFields, f)
				m.SelectedLabels = append(m.SelectedLabels, d.str(mm, "label", where))
			}
		}
	}
	if v, ok := x["derived_from"]; ok && v != nil {
		if mm, ok := d.mapOf("derived_from", v); ok {
			m.DerivedFrom = Attribution{
				ID:      d.str(mm, "id", "derived_from"),
				Title:   d.str(mm, "title", "derived_from"),
				Author:  d.str(mm, "author", "derived_from"),
				URL:     d.str(mm, "url", "derived_from"),
				License: d.str(mm, "license", "derived_from"),
			}
		}
	}
	return m
}

type decoder struct{ m *Metadata }

func (d decoder) problem(s string) { d.m.Problems = append(d.m.Problems, s) }

// str reads a string attribute; numbers and booleans are rendered (YAML turns an
// unquoted 2.0 or yes into them), other types are a problem.
func (d decoder) str(x map[string]any, key string, parent ...string) string {
	v, ok := x[key]
	if !ok || v == nil {
		return ""
	}
	where := key
	if len(parent) > 0 {
		where = parent[0] + "." + key
	}
	switch v := v.(type) {
	case string:
		return v
	case int, int64, uint64, float64, bool:
		return fmt.Sprint(v)
	}
	d.problem(fmt.Sprintf("%s: want a string, got %s", where, typeName(x[key])))
	return ""
}

func (d decoder) list(x map[string]any, key string) []any {
	v, ok := x[key]
	if !ok || v == nil {
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		d.problem(fmt.Sprintf("%s: want a list, got %s", key, typeName(v)))
		return nil
	}
	if len(l) > maxItems {
		d.problem(fmt.Sprintf("%s: %d items, only the first %d kept", key, len(l), maxItems))
		l = l[:maxItems]
	}
	return l
}

func (d decoder) strs(x map[string]any, key string) []string {
	l := d.list(x, key)
	if l == nil {
		return nil
	}
	out := make([]string, 0, len(l))
	for i, v := range l {
		if s, ok := v.(string); ok {
			out = append(out, s)
			continue
		}
		d.problem(fmt.Sprintf("%s[%d]: want a string, got %s", key, i, typeName(v)))
	}
	return out
}

// mapOf accepts both map shapes a YAML decoder produces.
func (d decoder) mapOf(where string, v any) (map[string]any, bool) {
	switch v := v.(type) {
	case map[string]any:
		return v, true
	case map[any]any:
		mm := make(map[string]any, len(v))
		for k, val := range v {
			if ks, ok := k.(string); ok {
				mm[ks] = val
			}
		}
		return mm, true
	}
	d.problem(fmt.Sprintf("%s: want a mapping, got %s", where, typeName(v)))
	return nil, false
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case []any:
		return "list"
	case map[string]any, map[any]any:
		return "mapping"
	}
	return fmt.Sprintf("%T", v)
}

// Notice is the attribution the Detection Rule License 1.1 asks for, for every built-in
// rule derived from a Sigma rule: its authors, a link, and the licence text. It is
// printed by `vigil --version --legal`.
func Notice() string {
	var b strings.Builder
	files := Builtin()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		var doc struct {
			Title       string         `yaml:"title"`
			Author      string         `yaml:"author"`
			DerivedFrom map[string]any `yaml:"derived_from"`
		}
		if err := yaml.Unmarshal(files[n], &doc); err != nil {
			fmt.Fprintf(&b, "%s: cannot read its attribution: %v\n", n, err)
			continue
		}
		m := MetadataOf(&sigma.Rule{Extra: map[string]any{"derived_from": doc.DerivedFrom}})
		a := m.DerivedFrom
		if a.ID == "" {
			continue
		}
		fmt.Fprintf(&b, "Built-in rule %q (%s), by %s, is derived from the Sigma rule %q (id %s)\nby %s,\n%s,\nlicensed under the %s.\n\n",
			doc.Title, n, doc.Author, a.Title, a.ID, a.Author, a.URL, a.License)
	}
	b.WriteString(drlText)
	if !strings.HasSuffix(drlText, "\n") {
		b.WriteByte('\n')
	}
	return b.String()
}
