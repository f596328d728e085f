// Package attack embeds the MITRE ATT&CK Enterprise catalog (v18.1): techniques,
// tactics, mitigations and which mitigations apply to which technique, and resolves
// Sigma "attack.*" tags against it.
//
// The catalog is MITRE's data, reproduced under the ATT&CK Terms of Use; Notice holds
// the copyright designation and licence that must travel with it.
package attack

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
)

// The catalog is stored gzipped: 1.2 MB of JSON is 246 kB compressed, and it is decoded
// once per process. It is /work/shared/attack/enterprise-attack-catalog.json, a compact
// extract of github.com/mitre/cti (commit in its meta); regenerate with gzip -9 -n.
//
//go:embed enterprise-attack-catalog.json.gz
var catalogGZ []byte

// maxCatalog bounds the decompressed catalog, so a corrupt or hostile input cannot
// exhaust memory in Parse.
const maxCatalog = 16 << 20

// Technique is one ATT&CK technique or sub-technique. Slices are shared with the
// catalog: read them, never modify them.
type Technique struct {
	ID          string   // "T1133", "T1059.001"
	Name        string   // "External Remote Services"
	Description string   // the first paragraph, ATT&CK markdown and (Citation: ...) kept
	URL         string   // https://attack.mitre.org/techniques/T1133
	Tactics     []string // tactic shortnames: "initial-access", "persistence"
	Platforms   []string
	Parent      string // the parent technique's ID for a sub-technique, "" otherwise
	Version     string
	Modified    string
	// Revoked and Deprecated techniques stay in the catalog (old rules still name them);
	// they resolve, flagged, so the UI can say so.
	Revoked, Deprecated bool
}

// IsSubtechnique reports whether t is a sub-technique (T1059.001).
func (t Technique) IsSubtechnique() bool { return t.Parent != "" }

// Tactic is one ATT&CK tactic.
type Tactic struct {
	ID          string // "TA0001"
	Shortname   string // "initial-access"
	Name        string // "Initial Access"
	URL         string
	Description string
}

// Mitigation is one ATT&CK mitigation ("course of action").
type Mitigation struct {
	ID          string // "M1042"
	Name        string
	Description string // complete, as published
	URL         string
	Version     string
	Modified    string
}

// Applied is a mitigation as it applies to one technique.
type Applied struct {
	Mitigation
	// Use is ATT&CK's text on how the mitigation applies to this technique.
	Use string
}

// Meta describes the catalog's provenance.
type Meta struct {
	Version   string // ATT&CK version: "18.1"
	Repo      string // https://github.com/mitre/cti
	Commit    string
	Copyright string // MITRE's copyright designation
}

// Catalog is an immutable, indexed ATT&CK catalog; safe for concurrent use.
type Catalog struct {
	meta        Meta
	techniques  map[string]*Technique
	tactics     []Tactic
	tacticByKey map[string]int // ID and shortname -> index in tactics
	mitigations map[string]*Mitigation
	applied     map[string][]Applied // technique ID -> mitigations, catalog order
}

var (
	catalogOnce sync.Once
	catalog     *Catalog
	catalogErr  error
)

// Embedded returns the embedded ATT&CK v18.1 catalog, decoded on first use. If the
// embedded data cannot be decoded (a broken build), it returns an empty catalog and
// EmbeddedErr reports why: lookups then report not found rather than panic.
// (docs/architecture.md called this Catalog(); Go cannot have a func and a type of one name.)
func Embedded() *Catalog {
	catalogOnce.Do(func() {
		catalog, catalogErr = decodeEmbedded()
		if catalogErr != nil {
			catalog = emptyCatalog()
		}
	})
	return catalog
}

// EmbeddedErr reports whether the embedded catalog failed to decode.
func EmbeddedErr() error {
	Embedded()
	return catalogErr
}

func decodeEmbedded() (*Catalog, error) {
	zr, err := gzip.NewReader(bytes.NewReader(catalogGZ))
	if err != nil {
		return nil, fmt.Errorf("attack: embedded catalog: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, maxCatalog+1))
	if err != nil {
		return nil, fmt.Errorf("attack: embedded catalog: gunzip: %w", err)
	}
	return Parse(data)
}

func emptyCatalog() *Catalog {
	return &Catalog{
		techniques:  map[string]*Technique{},
		tacticByKey: map[string]int{},
		mitigations: map[string]*Mitigation{},
		applied:     map[string][]Applied{},
	}
}

// The catalog's JSON shape (see enterprise-attack-catalog.json "meta").
type jsonCatalog struct {
	Meta struct {
		AttackVersion string `json:"attack_version"`
		Copyright     string `json:"copyright"`
		Source        struct {
			Repo   string `json:"repo"`
			Commit string `json:"commit"`
		} `json:"source"`
	} `json:"meta"`
	Tactics []struct {
		ID          string `json:"id"`
		Shortname   string `json:"shortname"`
		Name        string `json:"name"`
		URL         string `json:"url"`
		Description string `json:"description"`
	} `json:"tactics"`
	Techniques []struct {
		ID             string   `json:"id"`
		Name           string   `json:"name"`
		Tactics        []string `json:"tactics"`
		URL            string   `json:"url"`
		Description    string   `json:"description"`
		IsSubtechnique bool     `json:"is_subtechnique"`
		Parent         *string  `json:"parent"`
		Platforms      []string `json:"platforms"`
		Version        string   `json:"version"`
		Modified       string   `json:"modified"`
		Revoked        bool     `json:"revoked"`
		Deprecated     bool     `json:"deprecated"`
	} `json:"techniques"`
	Mitigations []struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		Description string `json:"description"`
		URL         string `json:"url"`
		Version     string `json:"version"`
		Modified    string `json:"modified"`
	} `json:"mitigations"`
	TechniqueMitigations []struct {
		Technique   string `json:"technique"`
		Mitigation  string `json:"mitigation"`
		Description string `json:"description"`
	} `json:"technique_mitigations"`
}

// Parse decodes a catalog in the embedded JSON shape. It refuses input over 16 MiB,
// empty or duplicate ids, and links to techniques or mitigations it does not hold;
// errors name the section and index.
func Parse(data []byte) (*Catalog, error) {
	if len(data) > maxCatalog {
		return nil, fmt.Errorf("attack: catalog: %d bytes, more than the %d allowed", len(data), maxCatalog)
	}
	var jc jsonCatalog
	if err := json.Unmarshal(data, &jc); err != nil {
		return nil, fmt.Errorf("attack: catalog: %w", err)
	}
	c := emptyCatalog()
	c.meta = Meta{
		Version:   jc.Meta.AttackVersion,
		Repo:      jc.Meta.Source.Repo,
		Commit:    jc.Meta.Source.Commit,
		Copyright: jc.Meta.Copyright,
	}
	c.tactics = make([]Tactic, 0, len(jc.Tactics))
	for i, t := range jc.Tactics {
		id, short := strings.ToUpper(t.ID), normShortname(t.Shortname)
		if id == "" || short == "" {
			return nil, fmt.Errorf("attack: catalog: tactics[%d]: empty id or shortname", i)
		}
		if _, dup := c.tacticByKey[id]; dup {
			return nil, fmt.Errorf("attack: catalog: tactics[%d]: duplicate id %q", i, t.ID)
		}
		if _, dup := c.tacticByKey[short]; dup {
			return nil, fmt.Errorf("attack: catalog: tactics[%d]: duplicate shortname %q", i, t.Shortname)
		}
		c.tacticByKey[id] = len(c.tactics)
		c.tacticByKey[short] = len(c.tactics)
		c.tactics = append(c.tactics, Tactic{ID: t.ID, Shortname: t.Shortname, Name: t.Name, URL: t.URL, Description: t.Description})
	}
	techs := make([]Technique, len(jc.Techniques)) // one backing array, pointers into it
	for i, t := range jc.Techniques {
		id := strings.ToUpper(t.ID)
		if id == "" {
			return nil, fmt.Errorf("attack: catalog: techniques[%d]: empty id", i)
		}
		if _, dup := c.techniques[id]; dup {
			return nil, fmt.Errorf("attack: catalog: techniques[%d]: duplicate id %q", i, t.ID)
		}
		parent := ""
		if t.Parent != nil {
			parent = *t.Parent
		}
		if t.IsSubtechnique != (parent != "") {
			return nil, fmt.Errorf("attack: catalog: techniques[%d] %s: is_subtechnique=%v but parent %q", i, t.ID, t.IsSubtechnique, parent)
		}
		techs[i] = Technique{
			ID: t.ID, Name: t.Name, Description: t.Description, URL: t.URL,
			Tactics: t.Tactics, Platforms: t.Platforms, Parent: parent,
			Version: t.Version, Modified: t.Modified, Revoked: t.Revoked, Deprecated: t.Deprecated,
		}
		c.techniques[id] = &techs[i]
	}
	for i := range techs {
		if p := techs[i].Parent; p != "" {
			if _, ok := c.techniques[strings.ToUpper(p)]; !ok {
				return nil, fmt.Errorf("attack: catalog: techniques[%d] %s: parent %q not in catalog", i, techs[i].ID, p)
			}
		}
	}
	mits := make([]Mitigation, len(jc.Mitigations))
	for i, m := range jc.Mitigations {
		id := strings.ToUpper(m.ID)
		if id == "" {
			return nil, fmt.Errorf("attack: catalog: mitigations[%d]: empty id", i)
		}
		if _, dup := c.mitigations[id]; dup {
			return nil, fmt.Errorf("attack: catalog: mitigations[%d]: duplicate id %q", i, m.ID)
		}
		mits[i] = Mitigation{ID: m.ID, Name: m.Name, Description: m.Description, URL: m.URL, Version: m.Version, Modified: m.Modified}
		c.mitigations[id] = &mits[i]
	}
	for i, l := range jc.TechniqueMitigations {
		tid, mid := strings.ToUpper(l.Technique), strings.ToUpper(l.Mitigation)
		if _, ok := c.techniques[tid]; !ok {
			return nil, fmt.Errorf("attack: catalog: technique_mitigations[%d]: technique %q not in catalog", i, l.Technique)
		}
		m, ok := c.mitigations[mid]
		if !ok {
			return nil, fmt.Errorf("attack: catalog: technique_mitigations[%d]: mitigation %q not in catalog", i, l.Mitigation)
		}
		c.applied[tid] = append(c.applied[tid], Applied{Mitigation: *m, Use: l.Description})
	}
	return c, nil
}

// Meta reports the catalog's version and provenance.
func (c *Catalog) Meta() Meta { return c.meta }

// Len reports how many techniques (including revoked and deprecated), tactics and
// mitigations the catalog holds.
func (c *Catalog) Len() (techniques, tactics, mitigations int) {
	return len(c.techniques), len(c.tactics), len(c.mitigations)
}

// Technique looks a technique or sub-technique up by ID ("T1133", "t1059.001").
// Revoked and deprecated techniques are found, flagged.
func (c *Catalog) Technique(id string) (Technique, bool) {
	t, ok := c.techniques[strings.ToUpper(id)]
	if !ok {
		return Technique{}, false
	}
	return *t, true
}

// Tactic looks a tactic up by ID ("TA0001") or shortname, as ATT&CK writes it
// ("initial-access") or as Sigma tags wrote it before v2 ("initial_access").
func (c *Catalog) Tactic(idOrShortname string) (Tactic, bool) {
	i, ok := c.tacticByKey[strings.ToUpper(idOrShortname)]
	if !ok {
		i, ok = c.tacticByKey[normShortname(idOrShortname)]
	}
	if !ok {
		return Tactic{}, false
	}
	return c.tactics[i], true
}

// Tactics returns every tactic in matrix order (a copy).
func (c *Catalog) Tactics() []Tactic { return append([]Tactic(nil), c.tactics...) }

// Mitigation looks a mitigation up by ID ("M1042").
func (c *Catalog) Mitigation(id string) (Mitigation, bool) {
	m, ok := c.mitigations[strings.ToUpper(id)]
	if !ok {
		return Mitigation{}, false
	}
	return *m, true
}

// Mitigations returns the mitigations ATT&CK links to a technique, with how each
// applies. The slice is shared with the catalog: do not modify it.
func (c *Catalog) Mitigations(techniqueID string) []Applied {
	return c.applied[strings.ToUpper(techniqueID)]
}

// normShortname folds Sigma's old "initial_access" spelling and case into ATT&CK's
// "initial-access". It allocates only when the input needs folding.
func normShortname(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if b := s[i]; b == '_' || ('A' <= b && b <= 'Z') {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.ReplaceAll(strings.ToLower(s), "_", "-")
}
