// Package sigma parses, compiles and matches Sigma rules (specification v2.1.0),
// including Sigma filter rules.
package sigma

// Logsource is a rule's logsource section.
type Logsource struct {
	Category, Product, Service, Definition string
}

// Rule is one parsed Sigma rule (detection or filter). Exported fields are read-only
// after parsing; a Rule is shared by goroutines once compiled into a Set.
type Rule struct {
	ID, Title, Status, Level, Description, Author, Date, Modified string
	Tags, References, FalsePositives                              []string
	// Related holds the ids listed under related (any relation type).
	Related   []string
	Logsource Logsource
	// Extra holds every top-level key that Sigma does not define (vigil's rule metadata),
	// decoded from YAML into plain Go values (map[string]any, []any, string, ...).
	Extra map[string]any
	// File and Line say where the rule document starts.
	File string
	Line int
	// IsFilter marks a Sigma filter rule (filters spec v2.1.0).
	IsFilter bool
	// FilterRules are the rule ids or titles a filter applies to.
	FilterRules []string

	// compiled state, set by ParseRules; nil for a Rule built by hand.
	det   *detection
	route route
}

// Refused is a rule that could not be loaded, and why.
type Refused struct {
	File   string
	Line   int
	ID     string
	Title  string
	Reason string
}

func (r Refused) Error() string {
	if r.Line > 0 {
		return r.File + ":" + itoa(r.Line) + ": " + r.Reason
	}
	return r.File + ": " + r.Reason
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [21]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
