package triage

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"github.com/vigil-soc/vigil/detect/sigma"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Sigma filter export and import (Sigma filters specification v2.x): one YAML document
// per allowlist entry,
//
//	title: 'vigil allowlist al-...: REASON'
//	id: UUID derived from the entry id
//	description: reason, author, created, expiry in words
//	author, date: standard Sigma attributes
//	logsource: {product: windows, category: process_creation}
//	filter:
//	    rules: [RULE ID]                # "any" when the entry applies to every rule
//	    selection: {Image: ..., ParentImage: ..., CommandLine: ..., User: ..., Computer: ...}
//	    condition: not selection
//	vigil: {id, reason, author, created, expires, hits, last_hit}   # custom attribute
//
// Exact values are plain strings with '*', '?' and '\' escaped by Sigma's rules; globs
// are Sigma wildcards; regexes use |re (|re|i when case-insensitive, since Sigma regexes
// are case-sensitive); case-sensitive exact values and globs use |cased.

// MaxImportLen bounds the YAML ImportSigma reads.
const MaxImportLen = 16 << 20

// MaxImportEntries bounds the documents ImportSigma reads.
const MaxImportEntries = 100000

var sigmaFieldOf = map[string]int{"Image": 0, "ParentImage": 1, "CommandLine": 2, "User": 3, "Computer": 4}

// ExportSigma writes entries as Sigma filter rules, one YAML document each.
func ExportSigma(entries []AllowEntry) ([]byte, error) {
	var buf bytes.Buffer
	for i := range entries {
		e := &entries[i]
		if !e.hasCondition() {
			return nil, fmt.Errorf("export allowlist entry %s: it has neither a rule nor a condition", e.ID)
		}
		doc, err := entryNode(e)
		if err != nil {
			return nil, fmt.Errorf("export allowlist entry %s: %w", e.ID, err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(4)
		if err := enc.Encode(doc); err != nil {
			return nil, fmt.Errorf("export allowlist entry %s: %w", e.ID, err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("export allowlist entry %s: %w", e.ID, err)
		}
	}
	return buf.Bytes(), nil
}

func str(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

func mapping(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(kv); i += 2 {
		v, ok := kv[i+1].(*yaml.Node)
		if !ok {
			v = str(fmt.Sprint(kv[i+1]))
		}
		n.Content = append(n.Content, str(kv[i].(string)), v)
	}
	return n
}

// uuidOf derives a stable name-based UUID (version 5 layout) from an allowlist id.
func uuidOf(id string) string {
	h := sha1.Sum([]byte("vigil-allowlist:" + id))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func entryNode(e *AllowEntry) (*yaml.Node, error) {
	desc := "vigil allowlist entry: " + e.Reason + "."
	if e.Author != "" || !e.Created.IsZero() {
		desc += " Added"
	}
	if e.Author != "" {
		desc += " by " + e.Author
	}
	if !e.Created.IsZero() {
		desc += " on " + e.Created.UTC().Format(time.RFC3339)
	}
	if e.Expires.IsZero() {
		desc += " Never expires."
	} else {
		desc += " Expires " + e.Expires.UTC().Format(time.RFC3339) + "."
	}
	// "rules: any" is pySigma's spelling for every rule of the logsource.
	rules := str("any")
	if e.RuleID != "" {
		rules = &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{str(e.RuleID)}}
	}
	sel := &yaml.Node{Kind: yaml.MappingNode}
	for _, f := range e.fields() {
		p := *f.p
		if p == nil {
			continue
		}
		key, val := sigmaValue(f.sigma, p)
		sel.Content = append(sel.Content, str(key), str(val))
	}
	if len(sel.Content) == 0 {
		// A rule-only entry: Sigma needs a selection, and an always-true one is the
		// shape that survives other tools (Image exists on every process creation).
		sel.Content = append(sel.Content, str("Image"), str("*"))
	}
	title := "vigil allowlist " + e.ID + ": " + oneLine(e.Reason)
	if len(title) > 256 {
		title = truncate(title, 250)
	}
	vig := mapping("id", e.ID, "reason", e.Reason, "author", e.Author)
	for _, kv := range []struct{ k, v string }{
		{"created", fmtTime(e.Created)}, {"expires", fmtTime(e.Expires)}, {"last_hit", fmtTime(e.LastHit)},
	} {
		if kv.v != "" {
			vig.Content = append(vig.Content, str(kv.k), str(kv.v))
		}
	}
	vig.Content = append(vig.Content, str("hits"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(e.Hits)})
	doc := mapping(
		"title", title,
		"id", uuidOf(e.ID),
		"description", desc,
		"author", e.Author,
	)
	if !e.Created.IsZero() {
		doc.Content = append(doc.Content, str("date"), str(e.Created.UTC().Format("2006-01-02")))
	}
	doc.Content = append(doc.Content,
		str("logsource"), mapping("product", "windows", "category", "process_creation"),
		str("filter"), mapping("rules", rules, "selection", sel, "condition", "not selection"),
		str("vigil"), vig,
	)
	return doc, nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// sigmaValue renders one pattern as a Sigma field key (with modifiers) and value.
func sigmaValue(field string, p *Pattern) (key, val string) {
	switch p.Kind {
	case PatternRegex:
		if p.CaseSensitive {
			return field + "|re", p.Text
		}
		return field + "|re|i", p.Text
	case PatternGlob:
		val = escapeSigma(p.Text, false)
	default:
		val = escapeSigma(p.Text, true)
	}
	if p.CaseSensitive {
		key = field + "|cased"
	} else {
		key = field
	}
	return key, val
}

// escapeSigma writes s as a Sigma string value. literal: '*' and '?' are escaped too
// (an exact value); otherwise they stay wildcards (a glob). A backslash is doubled only
// where Sigma would read it as an escape: before '*', '?' or '\'.
func escapeSigma(s string, literal bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '*', '?':
			if literal {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
				b.WriteString(`\\`)
			} else {
				b.WriteByte('\\')
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// patternFromSigma builds a vigil pattern from a Sigma value and its modifiers.
func patternFromSigma(val string, mods []string) (Pattern, error) {
	var re, cased, ci bool
	var op string
	for _, m := range mods {
		switch m {
		case "re":
			re = true
		case "i":
			ci = true
		case "cased":
			cased = true
		case "contains", "startswith", "endswith":
			if op != "" {
				return Pattern{}, fmt.Errorf("modifiers %s and %s together are not supported", op, m)
			}
			op = m
		default:
			return Pattern{}, fmt.Errorf("modifier %q is not supported in an allowlist", m)
		}
	}
	var p Pattern
	switch {
	case re:
		if op != "" || cased {
			return Pattern{}, errors.New("|re does not combine with |contains, |startswith, |endswith or |cased")
		}
		p = Pattern{Kind: PatternRegex, Text: val, CaseSensitive: !ci}
	case ci:
		return Pattern{}, errors.New("modifier |i is only valid after |re")
	default:
		toks := sigma.SplitValue(val)
		if op == "contains" || op == "endswith" {
			toks = append([]sigma.ValuePart{{Wildcard: '*'}}, toks...)
		}
		if op == "contains" || op == "startswith" {
			toks = append(toks, sigma.ValuePart{Wildcard: '*'})
		}
		p = tokensPattern(toks)
		p.CaseSensitive = cased
	}
	if err := p.compile(); err != nil {
		return Pattern{}, err
	}
	return p, nil
}

// tokensPattern makes an exact pattern, a glob, or (when a glob holds a literal '*' or
// '?', which vigil globs cannot escape) an anchored regex.
func tokensPattern(toks []sigma.ValuePart) Pattern {
	var wild, litWild bool
	for _, t := range toks {
		if t.Wildcard != 0 {
			wild = true
		} else if strings.ContainsAny(t.Literal, "*?") {
			litWild = true
		}
	}
	var b strings.Builder
	switch {
	case !wild:
		for _, t := range toks {
			b.WriteString(t.Literal)
		}
		return Pattern{Kind: PatternExact, Text: b.String()}
	case !litWild:
		for _, t := range toks {
			if t.Wildcard != 0 {
				b.WriteByte(t.Wildcard)
			} else {
				b.WriteString(t.Literal)
			}
		}
		return Pattern{Kind: PatternGlob, Text: b.String()}
	default:
		b.WriteString("(?s)^")
		for _, t := range toks {
			switch t.Wildcard {
			case '*':
				b.WriteString(".*")
			case '?':
				b.WriteString(".")
			default:
				b.WriteString(regexp.QuoteMeta(t.Literal))
			}
		}
		b.WriteString("$")
		return Pattern{Kind: PatternRegex, Text: b.String()}
	}
}

// ImportError is a refused document or value in ImportSigma's input.
type ImportError struct {
	Line   int
	Reason string
}

func (e *ImportError) Error() string { return "line " + strconv.Itoa(e.Line) + ": " + e.Reason }

func refuse(n *yaml.Node, format string, args ...any) error {
	return &ImportError{Line: n.Line, Reason: fmt.Sprintf(format, args...)}
}

// ImportSigma reads Sigma filter rules (what ExportSigma writes, and plain filters of
// the same shape) into allowlist entries. Anything it cannot represent is refused with
// an *ImportError ("line N: reason"); nothing is returned then.
func ImportSigma(data []byte) ([]AllowEntry, error) {
	if len(data) > MaxImportLen {
		return nil, fmt.Errorf("sigma filters: %d bytes is over the %d limit", len(data), MaxImportLen)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []AllowEntry
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("sigma filters: %w", err)
		}
		if len(doc.Content) == 0 || (doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null") {
			continue // an empty document between separators
		}
		if len(out) == MaxImportEntries {
			return nil, refuse(&doc, "more than %d filters", MaxImportEntries)
		}
		e, err := importDoc(doc.Content[0])
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// mapItems returns a mapping's key/value pairs, refusing anything else (and aliases,
// which would let a small file expand into a large one).
func mapItems(n *yaml.Node, what string) ([][2]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, refuse(n, "%s must be a mapping", what)
	}
	var out [][2]*yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || v.Kind == yaml.AliasNode || k.Value == "<<" {
			return nil, refuse(k, "%s: only plain keys and values are supported (no aliases or merge keys)", what)
		}
		if seen[k.Value] {
			return nil, refuse(k, "%s: duplicate key %q", what, k.Value)
		}
		seen[k.Value] = true
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out, nil
}

func scalar(n *yaml.Node, what string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", refuse(n, "%s must be a single value", what)
	}
	return n.Value, nil
}

func importDoc(root *yaml.Node) (AllowEntry, error) {
	var e AllowEntry
	items, err := mapItems(root, "filter document")
	if err != nil {
		return e, err
	}
	var filter, vig, title *yaml.Node
	for _, kv := range items {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "title":
			title = v
		case "filter":
			filter = v
		case "vigil":
			vig = v
		case "author":
			if e.Author, err = scalar(v, "author"); err != nil {
				return e, err
			}
		case "description":
			if e.Reason, err = scalar(v, "description"); err != nil {
				return e, err
			}
		case "logsource":
			if err := checkLogsource(v); err != nil {
				return e, err
			}
		case "detection":
			return e, refuse(k, "a detection rule, not a filter (no top-level 'detection' in a filter)")
		}
	}
	if filter == nil {
		return e, refuse(root, "not a Sigma filter: no 'filter' section")
	}
	if e.Reason == "" && title != nil {
		e.Reason, _ = scalar(title, "title")
	}
	if err := importFilter(filter, &e); err != nil {
		return e, err
	}
	if vig != nil {
		if err := importVigil(vig, &e); err != nil {
			return e, err
		}
	}
	if len(e.Reason) > MaxReasonLen {
		e.Reason = truncate(e.Reason, MaxReasonLen-3)
	}
	if strings.TrimSpace(e.Reason) == "" {
		e.Reason = "imported Sigma filter"
	}
	if !e.hasCondition() {
		return e, refuse(filter, "the filter has neither a rule nor a condition")
	}
	return e, nil
}

func checkLogsource(n *yaml.Node) error {
	items, err := mapItems(n, "logsource")
	if err != nil {
		return err
	}
	for _, kv := range items {
		v, err := scalar(kv[1], "logsource "+kv[0].Value)
		if err != nil {
			return err
		}
		switch kv[0].Value {
		case "product":
			if v != "windows" {
				return refuse(kv[1], "logsource product %q: only windows process_creation filters are supported", v)
			}
		case "category":
			if v != "process_creation" {
				return refuse(kv[1], "logsource category %q: only windows process_creation filters are supported", v)
			}
		case "service":
			return refuse(kv[1], "logsource service %q: only windows process_creation filters are supported", v)
		}
	}
	return nil
}

func importFilter(n *yaml.Node, e *AllowEntry) error {
	items, err := mapItems(n, "filter")
	if err != nil {
		return err
	}
	var selName string
	var sel, cond, rules *yaml.Node
	for _, kv := range items {
		switch kv[0].Value {
		case "rules":
			rules = kv[1]
		case "condition":
			cond = kv[1]
		default:
			if sel != nil {
				return refuse(kv[0], "more than one selection (%s and %s) is not supported", selName, kv[0].Value)
			}
			selName, sel = kv[0].Value, kv[1]
		}
	}
	if rules == nil {
		return refuse(n, "filter has no 'rules'")
	}
	if sel == nil {
		return refuse(n, "filter has no selection")
	}
	if cond == nil {
		return refuse(n, "filter has no 'condition'")
	}
	c, err := scalar(cond, "condition")
	if err != nil {
		return err
	}
	if f := strings.Fields(c); len(f) != 2 || f[0] != "not" || f[1] != selName {
		return refuse(cond, "condition %q: only 'not %s' is supported", c, selName)
	}
	switch rules.Kind {
	case yaml.ScalarNode:
		if rules.Value == "" || rules.Tag == "!!null" {
			return refuse(rules, "empty rules: name a rule id, or 'any'")
		}
		if !strings.EqualFold(rules.Value, "any") {
			e.RuleID = rules.Value
		}
	case yaml.SequenceNode:
		if len(rules.Content) == 0 {
			return refuse(rules, "empty rules: name a rule id, or 'any'")
		}
		if len(rules.Content) != 1 {
			return refuse(rules, "a filter for %d rules: an allowlist entry names one rule (or 'any'); split it", len(rules.Content))
		}
		if e.RuleID, err = scalar(rules.Content[0], "rule"); err != nil {
			return err
		}
		if e.RuleID == "" {
			return refuse(rules, "empty rule id")
		}
	default:
		return refuse(rules, "rules must be a list of rule ids")
	}
	if len(e.RuleID) > MaxPatternLen {
		return refuse(rules, "rule id longer than %d bytes", MaxPatternLen)
	}
	fields, err := mapItems(sel, "selection")
	if err != nil {
		return err
	}
	for _, kv := range fields {
		k, v := kv[0], kv[1]
		parts := strings.Split(k.Value, "|")
		idx, ok := sigmaFieldOf[parts[0]]
		if !ok {
			return refuse(k, "field %q: an allowlist can only test Image, ParentImage, CommandLine, User and Computer", parts[0])
		}
		val, err := scalar(v, "value of "+k.Value)
		if err != nil {
			if v.Kind == yaml.SequenceNode {
				return refuse(v, "%s: a list of values is not supported (one value per field)", k.Value)
			}
			return err
		}
		if v.Tag == "!!null" {
			return refuse(v, "%s: a null value is not supported", k.Value)
		}
		f := e.fields()[idx]
		if *f.p != nil {
			return refuse(k, "field %s is tested twice", parts[0])
		}
		p, err := patternFromSigma(val, parts[1:])
		if err != nil {
			return refuse(v, "%s: %v", k.Value, err)
		}
		if p.matchesAll() {
			continue // no condition: e.g. the always-true selection ExportSigma writes for rule-only entries
		}
		*f.p = &p
	}
	return nil
}

func importVigil(n *yaml.Node, e *AllowEntry) error {
	items, err := mapItems(n, "vigil")
	if err != nil {
		return err
	}
	for _, kv := range items {
		v, err := scalar(kv[1], "vigil "+kv[0].Value)
		if err != nil {
			return err
		}
		switch kv[0].Value {
		case "id":
			if len(v) > 128 {
				return refuse(kv[1], "vigil id longer than 128 bytes")
			}
			e.ID = v
		case "reason":
			e.Reason = v
		case "author":
			e.Author = v
		case "hits":
			h, err := strconv.Atoi(v)
			if err != nil || h < 0 {
				return refuse(kv[1], "vigil hits %q is not a count", v)
			}
			e.Hits = h
		case "created", "expires", "last_hit":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return refuse(kv[1], "vigil %s %q is not an RFC 3339 time", kv[0].Value, v)
			}
			switch kv[0].Value {
			case "created":
				e.Created = t.UTC()
			case "expires":
				e.Expires = t.UTC()
			default:
				e.LastHit = t.UTC()
			}
		default:
			return refuse(kv[0], "unknown vigil attribute %q", kv[0].Value)
		}
	}
	return nil
}
