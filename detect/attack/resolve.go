package attack

import "strings"

// ResolvedTechnique is a technique named by a rule's tags, with what the detail pane shows.
type ResolvedTechnique struct {
	Tag       string // the tag as written: "attack.t1133"
	Technique Technique
	// Tactics are the technique's tactics, in the catalog's matrix order.
	Tactics []Tactic
	// Mitigations are ATT&CK's mitigations for the technique, each with how it applies.
	Mitigations []Applied
	// Parent is the parent technique of a sub-technique, nil otherwise.
	Parent *Technique
}

// Unresolved is an ATT&CK tag the catalog does not describe.
type Unresolved struct {
	Tag string // as written: "attack.t9999", "attack.g0016"
	ID  string // the id part, upper-cased for ids ("T9999", "G0016"), as written otherwise
	// Kind says what the id looks like: "technique", "tactic", "mitigation", "group",
	// "software", "campaign", "data-source", "detection-strategy" or "unknown".
	Kind string
}

// Resolved is what a rule's tags say in ATT&CK terms. Nothing a tag names is dropped:
// an "attack.*" tag lands in Techniques, Tactics, Mitigations or Unresolved.
// Tags outside the attack namespace (cve.*, detection.*, car.*) are not ATT&CK and are
// ignored.
type Resolved struct {
	Techniques  []ResolvedTechnique // in tag order, each ID once
	Tactics     []Tactic            // tactics the tags name directly, in tag order, each once
	Mitigations []Mitigation        // mitigations the tags name directly (rare in Sigma)
	// Unresolved holds unknown technique/tactic/mitigation ids and ids of objects the
	// catalog does not hold (groups G*, software S*, campaigns C*, ...), in tag order.
	Unresolved []Unresolved
}

// Resolve maps Sigma tags to ATT&CK objects. Tag matching is case-insensitive and
// accepts both "attack.initial-access" and "attack.initial_access".
func (c *Catalog) Resolve(tags []string) Resolved {
	var r Resolved
	for _, tag := range tags {
		if len(tag) < len("attack.")+1 || !strings.EqualFold(tag[:len("attack.")], "attack.") {
			continue
		}
		name := tag[len("attack."):]
		kind := idKind(name)
		switch kind {
		case "technique":
			t, ok := c.techniques[strings.ToUpper(name)]
			if !ok {
				break
			}
			if !r.hasTechnique(t.ID) {
				r.Techniques = append(r.Techniques, c.resolveTechnique(tag, t))
			}
			continue
		case "tactic":
			if tc, ok := c.Tactic(name); ok {
				r.addTactic(tc)
				continue
			}
		case "mitigation":
			if m, ok := c.mitigations[strings.ToUpper(name)]; ok {
				if !r.hasMitigation(m.ID) {
					r.Mitigations = append(r.Mitigations, *m)
				}
				continue
			}
		case "unknown":
			// Not an id: a tactic shortname ("initial-access", "initial_access").
			if tc, ok := c.Tactic(name); ok {
				r.addTactic(tc)
				continue
			}
		}
		id := name
		if kind != "unknown" {
			id = strings.ToUpper(name)
		}
		r.Unresolved = append(r.Unresolved, Unresolved{Tag: tag, ID: id, Kind: kind})
	}
	return r
}

func (c *Catalog) resolveTechnique(tag string, t *Technique) ResolvedTechnique {
	rt := ResolvedTechnique{Tag: tag, Technique: *t, Mitigations: c.applied[strings.ToUpper(t.ID)]}
	// Matrix order, not the technique's own (T1133 lists persistence first).
	for i := range c.tactics {
		for _, s := range t.Tactics {
			if s == c.tactics[i].Shortname {
				rt.Tactics = append(rt.Tactics, c.tactics[i])
				break
			}
		}
	}
	if t.Parent != "" {
		if p, ok := c.techniques[strings.ToUpper(t.Parent)]; ok {
			pc := *p
			rt.Parent = &pc
		}
	}
	return rt
}

func (r *Resolved) hasTechnique(id string) bool {
	for i := range r.Techniques {
		if r.Techniques[i].Technique.ID == id {
			return true
		}
	}
	return false
}

func (r *Resolved) hasMitigation(id string) bool {
	for i := range r.Mitigations {
		if r.Mitigations[i].ID == id {
			return true
		}
	}
	return false
}

func (r *Resolved) addTactic(t Tactic) {
	for i := range r.Tactics {
		if r.Tactics[i].ID == t.ID {
			return
		}
	}
	r.Tactics = append(r.Tactics, t)
}

// idKind classifies an ATT&CK id by its shape: a letter prefix and digits, with
// ".NNN" for sub-techniques. Anything else is "unknown" (possibly a tactic shortname).
func idKind(s string) string {
	prefix, digits := 0, 0
	for prefix < len(s) && isLetter(s[prefix]) {
		prefix++
	}
	i := prefix
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
		digits++
	}
	if prefix == 0 || digits != 4 {
		return "unknown"
	}
	if i < len(s) {
		// Only techniques have a suffix: ".001".
		if s[i] != '.' || len(s)-i != 4 || !allDigits(s[i+1:]) || !strings.EqualFold(s[:prefix], "t") {
			return "unknown"
		}
		return "technique"
	}
	switch strings.ToUpper(s[:prefix]) {
	case "T":
		return "technique"
	case "TA":
		return "tactic"
	case "M":
		return "mitigation"
	case "G":
		return "group"
	case "S":
		return "software"
	case "C":
		return "campaign"
	case "DS":
		return "data-source"
	case "DET":
		return "detection-strategy"
	}
	return "unknown"
}

func isLetter(b byte) bool { return ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z') }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
