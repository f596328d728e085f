package sigma

import (
	"fmt"
	"strings"
)

// Condition syntax (rules specification v2.1.0), least to most binding:
// or, and, not, "1 of"/"all of" X, ( expression ). A list of conditions is OR-ed.

type cop uint8

const (
	cSel   cop = iota // one selection
	cAnd              // every kid
	cOr               // any kid
	cNot              // not kids[0]
	cOneOf            // any of sels
	cAllOf            // all of sels
)

type cnode struct {
	op   cop
	sel  int
	sels []int
	kids []*cnode
}

const (
	maxConditionLen   = 16 << 10
	maxConditionDepth = 64
)

// ctok is a condition token.
type ctok struct {
	text string
	pos  int // 1-based column, for messages
}

func tokenize(s string) ([]ctok, error) {
	if len(s) > maxConditionLen {
		return nil, fmt.Errorf("condition is %d bytes, over the %d limit", len(s), maxConditionLen)
	}
	var toks []ctok
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			toks = append(toks, ctok{text: s[i : i+1], pos: i + 1})
			i++
		case c == '|':
			return nil, fmt.Errorf("condition column %d: aggregation after '|' is not supported (Sigma v2 moved it to correlation rules)", i+1)
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n()|", rune(s[j])) {
				j++
			}
			toks = append(toks, ctok{text: s[i:j], pos: i + 1})
			i = j
		}
	}
	return toks, nil
}

type condParser struct {
	toks  []ctok
	i     int
	names []string // selection names, index = selection number
	depth int
}

// parseCondition compiles one condition string against the rule's selection names.
func parseCondition(s string, names []string) (*cnode, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("condition is empty")
	}
	p := &condParser{toks: toks, names: names}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		t := p.toks[p.i]
		return nil, fmt.Errorf("condition column %d: unexpected %q after a complete expression", t.pos, t.text)
	}
	return n, nil
}

func (p *condParser) peek() (ctok, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return ctok{}, false
}

func (p *condParser) isWord(w string) bool {
	t, ok := p.peek()
	return ok && strings.EqualFold(t.text, w)
}

func (p *condParser) or() (*cnode, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	if !p.isWord("or") {
		return left, nil
	}
	n := &cnode{op: cOr, kids: []*cnode{left}}
	for p.isWord("or") {
		p.i++
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, right)
	}
	return n, nil
}

func (p *condParser) and() (*cnode, error) {
	left, err := p.not()
	if err != nil {
		return nil, err
	}
	if !p.isWord("and") {
		return left, nil
	}
	n := &cnode{op: cAnd, kids: []*cnode{left}}
	for p.isWord("and") {
		p.i++
		right, err := p.not()
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, right)
	}
	return n, nil
}

func (p *condParser) not() (*cnode, error) {
	if p.isWord("not") {
		p.i++
		if p.depth++; p.depth > maxConditionDepth {
			return nil, fmt.Errorf("condition nests deeper than %d", maxConditionDepth)
		}
		k, err := p.not()
		p.depth--
		if err != nil {
			return nil, err
		}
		return &cnode{op: cNot, kids: []*cnode{k}}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (*cnode, error) {
	t, ok := p.peek()
	if !ok {
		if p.i == 0 {
			return nil, fmt.Errorf("condition is empty")
		}
		last := p.toks[p.i-1]
		return nil, fmt.Errorf("condition column %d: expression expected after %q", last.pos+len(last.text), last.text)
	}
	low := strings.ToLower(t.text)
	switch low {
	case "(":
		p.i++
		if p.depth++; p.depth > maxConditionDepth {
			return nil, fmt.Errorf("condition nests deeper than %d", maxConditionDepth)
		}
		n, err := p.or()
		p.depth--
		if err != nil {
			return nil, err
		}
		if c, ok := p.peek(); !ok || c.text != ")" {
			return nil, fmt.Errorf("condition column %d: missing ')' to close this '('", t.pos)
		}
		p.i++
		return n, nil
	case ")":
		return nil, fmt.Errorf("condition column %d: unexpected ')'", t.pos)
	case "and", "or", "of", "them":
		return nil, fmt.Errorf("condition column %d: unexpected %q where a selection was expected", t.pos, t.text)
	}
	if p.i+1 < len(p.toks) && strings.EqualFold(p.toks[p.i+1].text, "of") {
		return p.quantified(t)
	}
	p.i++
	for i, n := range p.names {
		if n == t.text {
			return &cnode{op: cSel, sel: i}, nil
		}
	}
	return nil, fmt.Errorf("condition column %d: unknown selection %q", t.pos, t.text)
}

// quantified parses "1 of X", "any of X", "all of X" where X is "them" or a pattern.
func (p *condParser) quantified(q ctok) (*cnode, error) {
	var op cop
	switch strings.ToLower(q.text) {
	case "1", "any":
		op = cOneOf
	case "all":
		op = cAllOf
	default:
		return nil, fmt.Errorf("condition column %d: %q of: only '1 of' and 'all of' are defined", q.pos, q.text)
	}
	p.i += 2
	t, ok := p.peek()
	if !ok || t.text == "(" || t.text == ")" {
		return nil, fmt.Errorf("condition column %d: '%s of' needs 'them' or a selection pattern", q.pos, q.text)
	}
	p.i++
	n := &cnode{op: op}
	if strings.EqualFold(t.text, "them") {
		for i, name := range p.names {
			// By convention, "them" leaves out identifiers starting with an underscore.
			if !strings.HasPrefix(name, "_") {
				n.sels = append(n.sels, i)
			}
		}
	} else {
		for i, name := range p.names {
			if wildMatch(t.text, name) {
				n.sels = append(n.sels, i)
			}
		}
	}
	if len(n.sels) == 0 {
		return nil, fmt.Errorf("condition column %d: %q matches no selection", t.pos, t.text)
	}
	return n, nil
}

// wildMatch matches a selection name against a pattern where '*' is any run.
func wildMatch(pat, s string) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(pat) && pat[pi] == '*' {
			starP, starS = pi, si
			pi++
			continue
		}
		if pi < len(pat) && pat[pi] == s[si] {
			pi++
			si++
			continue
		}
		if starP < 0 {
			return false
		}
		starS++
		pi, si = starP+1, starS
	}
	for pi < len(pat) && pat[pi] == '*' {
		pi++
	}
	return pi == len(pat)
}
