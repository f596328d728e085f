package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Config holds what rules may refer to beyond themselves.
type Config struct {
	// Placeholders are the values of %name% placeholders for the expand modifier.
	Placeholders map[string][]string
}

// LoadConfig reads a YAML config file:
//
//	placeholders:
//	  Administrators: [adm_*, root]
//	  Servers: srv*
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sigma config: %w", err)
	}
	var raw struct {
		Placeholders map[string]yaml.Node `yaml:"placeholders"`
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("sigma config %s: %w", path, err)
	}
	cfg := &Config{Placeholders: map[string][]string{}}
	for name, n := range raw.Placeholders {
		var vals []string
		switch n.Kind {
		case yaml.ScalarNode:
			vals = []string{n.Value}
		case yaml.SequenceNode:
			for _, it := range n.Content {
				if it.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("sigma config %s:%d: placeholder %q: values must be strings", path, it.Line, name)
				}
				vals = append(vals, it.Value)
			}
		default:
			return nil, fmt.Errorf("sigma config %s:%d: placeholder %q must be a value or a list", path, n.Line, name)
		}
		cfg.Placeholders[name] = vals
	}
	return cfg, nil
}

// Limits on rule files.
const (
	MaxRuleFileSize = 8 << 20
	maxDocuments    = 10000
)

// ParseRules parses every YAML document of data (a rule file, possibly a multi-document
// collection) and compiles the rules. A document that cannot load is refused with its
// reason and never stops the others. file names the data in Rule.File and refusals.
func ParseRules(data []byte, file string, cfg *Config) (rules []*Rule, refused []Refused) {
	if len(data) > MaxRuleFileSize {
		return nil, []Refused{{File: file, Reason: fmt.Sprintf("file is %d bytes, over the %d limit", len(data), MaxRuleFileSize)}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var global, prev *yaml.Node
	for n := 0; ; n++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The decoder cannot resynchronise after a syntax error: the rest of the file is lost,
			// and the refusal says so.
			refused = append(refused, Refused{File: file, Line: yamlErrLine(err), Reason: "yaml: " + strings.TrimPrefix(err.Error(), "yaml: ") + " (rest of file not read)"})
			break
		}
		if n >= maxDocuments {
			refused = append(refused, Refused{File: file, Line: doc.Line, Reason: fmt.Sprintf("more than %d documents", maxDocuments)})
			break
		}
		root := resolve(&doc)
		if root == nil || (root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
			continue // empty document (e.g. a trailing ---)
		}
		line := root.Line
		if root.Kind != yaml.MappingNode {
			refused = append(refused, Refused{File: file, Line: line, Reason: "rule document must be a map"})
			continue
		}
		switch strings.ToLower(scalar(mapGet(root, "action"))) {
		case "global":
			global = root
			continue
		case "reset":
			global = nil
			continue
		case "repeat":
			if prev == nil {
				refused = append(refused, Refused{File: file, Line: line, Reason: "action: repeat with no previous rule document"})
				continue
			}
			root = merge(prev, root)
		case "":
			if global != nil {
				root = merge(global, root)
			}
		default:
			refused = append(refused, Refused{File: file, Line: line, Reason: fmt.Sprintf("unknown action %q", scalar(mapGet(root, "action")))})
			continue
		}
		prev = root
		r, err := buildRule(root, file, line, cfg)
		if err != nil {
			ref := Refused{File: file, Line: line, Reason: err.Error()}
			var ce *compileError
			if errors.As(err, &ce) && ce.line > 0 {
				ref.Line = ce.line
			}
			if r != nil {
				ref.ID, ref.Title = r.ID, r.Title
			}
			refused = append(refused, ref)
			continue
		}
		rules = append(rules, r)
	}
	return rules, refused
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func yamlErrLine(err error) int {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// sigmaKeys are the top-level keys the specifications define; the rest go to Extra.
var sigmaKeys = map[string]bool{
	"title": true, "id": true, "related": true, "name": true, "taxonomy": true, "status": true,
	"description": true, "license": true, "author": true, "references": true, "date": true,
	"modified": true, "logsource": true, "detection": true, "fields": true,
	"falsepositives": true, "level": true, "tags": true, "scope": true, "filter": true,
	"action": true,
}

// buildRule reads one merged rule document. It returns the partly filled rule with an
// error so refusals can name the id and title.
func buildRule(root *yaml.Node, file string, line int, cfg *Config) (*Rule, error) {
	r := &Rule{File: file, Line: line}
	var detNode, filterNode *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], resolve(root.Content[i+1])
		switch k.Value {
		case "title":
			r.Title = scalar(v)
		case "id":
			r.ID = scalar(v)
		case "status":
			r.Status = scalar(v)
		case "level":
			r.Level = scalar(v)
		case "description":
			r.Description = scalar(v)
		case "author":
			r.Author = scalar(v)
		case "date":
			r.Date = scalar(v)
		case "modified":
			r.Modified = scalar(v)
		case "tags":
			r.Tags = strList(v)
		case "references":
			r.References = strList(v)
		case "falsepositives":
			r.FalsePositives = strList(v)
		case "related":
			if v != nil && v.Kind == yaml.SequenceNode {
				for _, it := range v.Content {
					if id := scalar(mapGet(resolve(it), "id")); id != "" {
						r.Related = append(r.Related, id)
					}
				}
			}
		case "logsource":
			if v == nil || v.Kind != yaml.MappingNode {
				return r, errAt(k, "logsource must be a map")
			}
			r.Logsource = Logsource{
				Category:   scalar(mapGet(v, "category")),
				Product:    scalar(mapGet(v, "product")),
				Service:    scalar(mapGet(v, "service")),
				Definition: scalar(mapGet(v, "definition")),
			}
		case "detection":
			detNode = v
		case "filter":
			filterNode = v
		case "correlation":
			return r, errAt(k, "correlation rules are not supported (vigil matches single events)")
		default:
			if !sigmaKeys[k.Value] {
				var val any
				if err := v.Decode(&val); err != nil {
					return r, errAt(k, "custom attribute %q: %v", k.Value, err)
				}
				if r.Extra == nil {
					r.Extra = map[string]any{}
				}
				r.Extra[k.Value] = val
			}
		}
	}
	if r.Title == "" {
		return r, errAt(root, "rule has no title (mandatory)")
	}
	c := &compiler{cfg: cfg, left: maxValuesPerRule}
	switch {
	case detNode != nil && filterNode != nil:
		return r, errAt(filterNode, "a document cannot be both a rule (detection) and a filter (filter)")
	case filterNode != nil:
		if filterNode.Kind != yaml.MappingNode {
			return r, errAt(filterNode, "filter must be a map with rules, selections and a condition")
		}
		// rules names the rule ids or titles the filter applies to; omitted, empty or
		// "any" means every rule whose logsource the filter's logsource contains (as
		// pySigma does).
		r.IsFilter = true
		if rn := mapGet(filterNode, "rules"); rn != nil {
			r.FilterRules = strList(rn)
		}
		if len(r.FilterRules) == 0 || (len(r.FilterRules) == 1 && strings.EqualFold(r.FilterRules[0], FilterAnyRule)) {
			r.FilterRules = []string{FilterAnyRule}
		}
		d, err := compileDetection(filterNode, c, "rules")
		if err != nil {
			return r, err
		}
		r.det = d
	case detNode != nil:
		d, err := compileDetection(detNode, c, "")
		if err != nil {
			return r, err
		}
		r.det = d
	default:
		return r, errAt(root, "rule has no detection")
	}
	r.route = routeFor(r.Logsource)
	return r, nil
}

// resolve follows document wrappers and aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && i < 64; i++ {
		switch n.Kind {
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		case yaml.AliasNode:
			n = n.Alias
		default:
			return n
		}
	}
	return n
}

func mapGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return resolve(m.Content[i+1])
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

func strList(n *yaml.Node) []string {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		if s := scalar(n); s != "" {
			return []string{s}
		}
		return nil
	}
	var out []string
	if n.Kind == yaml.SequenceNode {
		for _, it := range n.Content {
			if s := scalar(resolve(it)); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// merge returns base deep-merged with over (over wins), for action: global / repeat.
func merge(base, over *yaml.Node) *yaml.Node {
	if base == nil || base.Kind != yaml.MappingNode || over.Kind != yaml.MappingNode {
		return over
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: over.Tag, Line: over.Line, Column: over.Column}
	seen := map[string]bool{}
	for i := 0; i+1 < len(base.Content); i += 2 {
		k := base.Content[i].Value
		if k == "action" {
			continue
		}
		v := resolve(base.Content[i+1])
		if ov := mapGet(over, k); ov != nil {
			v = merge(v, ov)
			seen[k] = true
		}
		out.Content = append(out.Content, base.Content[i], v)
	}
	for i := 0; i+1 < len(over.Content); i += 2 {
		k := over.Content[i].Value
		if seen[k] || k == "action" {
			continue
		}
		out.Content = append(out.Content, over.Content[i], over.Content[i+1])
	}
	return out
}

// LoadPaths loads rules from files and directories (recursively, .yml and .yaml). An
// unreadable path is a refusal, like a bad rule; the other paths still load.
func LoadPaths(paths []string, cfg *Config) (rules []*Rule, refused []Refused) {
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			refused = append(refused, Refused{File: p, Reason: err.Error()})
			continue
		}
		var files []string
		if info.IsDir() {
			err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					refused = append(refused, Refused{File: path, Reason: err.Error()})
					return nil
				}
				ext := strings.ToLower(filepath.Ext(path))
				if !d.IsDir() && (ext == ".yml" || ext == ".yaml") {
					files = append(files, path)
				}
				return nil
			})
			if err != nil {
				refused = append(refused, Refused{File: p, Reason: err.Error()})
			}
			sort.Strings(files)
		} else {
			files = []string{p}
		}
		for _, f := range files {
			rs, ref := loadFile(f, cfg)
			rules = append(rules, rs...)
			refused = append(refused, ref...)
		}
	}
	return rules, refused
}

func loadFile(path string, cfg *Config) ([]*Rule, []Refused) {
	f, err := os.Open(path)
	if err != nil {
		return nil, []Refused{{File: path, Reason: err.Error()}}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxRuleFileSize+1))
	if err != nil {
		return nil, []Refused{{File: path, Reason: "read: " + err.Error()}}
	}
	return ParseRules(data, path, cfg)
}
