package ui

import (
	"sort"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/vigil-soc/vigil/detect"
	"github.com/vigil-soc/vigil/detect/triage"
	"github.com/vigil-soc/vigil/theme"
)

// sortKey orders the alert list.
type sortKey uint8

const (
	sortTime sortKey = iota
	sortSeverity
	sortHost
	sortKeys
)

func (k sortKey) String() string {
	return [...]string{"time", "severity", "host"}[k]
}

// row is one alert as the list keeps it, with what filtering and sorting need
// precomputed once per change rather than per keystroke or frame.
type row struct {
	a      detect.Alert
	rank   int    // severity rank, 0 = critical
	search string // lower-cased host, images, command line, user, rule
	saving string // non-empty while a change is in flight: what is being saved
}

// alertList is the left pane. rows is append-only storage; view holds the indexes of
// the rows that pass the filter, in display order; the cursor is an index into view and
// selected remembers the alert id so arriving alerts never move the selection.
type alertList struct {
	st     *theme.Styles
	rows   []*row // pointers: growing the slice copies 8 bytes per alert, not the alert
	byID   map[string]int
	order  []int // every row, sorted for the current sort key
	view   []int // the rows that pass the filter and toggles, in order
	cursor int
	offset int
	height int // visible rows
	width  int

	selected         string
	filter           string // lower-cased
	open, suppressed int    // maintained on every change so View never counts
	maxRows          int    // bound on alerts held; the store keeps the rest
	evicted          int
	showClosed       bool
	showSuppressed   bool
	sort             sortKey
}

// defaultMaxAlerts bounds the alerts the UI holds, as many as the engine keeps in memory
// (each holds its event and raw record: a few KiB).
const defaultMaxAlerts = 100_000

func newAlertList(st *theme.Styles) alertList {
	return alertList{st: st, byID: make(map[string]int), maxRows: defaultMaxAlerts}
}

// evict drops alerts once the list holds a tenth more than maxRows, down to maxRows:
// closed and suppressed ones first, oldest first; never the selection or one being
// saved. It returns the ids dropped so their trees and history go too. Amortized O(1)
// per alert.
func (l *alertList) evict() []string {
	if l.maxRows <= 0 || len(l.rows) <= l.maxRows+l.maxRows/10 {
		return nil
	}
	order := make([]int, 0, len(l.rows))
	for i := range l.rows {
		if r := l.rows[i]; r.a.ID != l.selected && r.saving == "" {
			order = append(order, i)
		}
	}
	quiet := func(i int) bool { a := &l.rows[i].a; return a.Suppressed || a.Status == triage.StatusClosed }
	sort.Slice(order, func(x, y int) bool {
		a, b := order[x], order[y]
		if qa, qb := quiet(a), quiet(b); qa != qb {
			return qa
		}
		return l.rows[a].a.LastSeen.Before(l.rows[b].a.LastSeen)
	})
	n := min(len(l.rows)-l.maxRows, len(order))
	drop := make(map[int]bool, n)
	ids := make([]string, 0, n)
	for _, i := range order[:n] {
		drop[i] = true
		ids = append(ids, l.rows[i].a.ID)
		l.count(&l.rows[i].a, -1)
	}
	// Compact the rows and renumber order and view in place: still sorted, no re-sort.
	remap := make([]int, len(l.rows))
	kept := l.rows[:0]
	for i := range l.rows {
		if drop[i] {
			remap[i] = -1
			delete(l.byID, l.rows[i].a.ID)
			continue
		}
		remap[i] = len(kept)
		l.byID[l.rows[i].a.ID] = len(kept)
		kept = append(kept, l.rows[i])
	}
	clear(l.rows[len(kept):])
	l.rows = kept
	renumber := func(s []int) []int {
		out := s[:0]
		for _, i := range s {
			if j := remap[i]; j >= 0 {
				out = append(out, j)
			}
		}
		return out
	}
	l.order, l.view = renumber(l.order), renumber(l.view)
	l.evicted += n
	l.restoreSelection()
	return ids
}

func searchText(a *detect.Alert) string {
	var b strings.Builder
	for _, s := range []string{a.Host, a.Event.Process.Image, a.Event.Parent.Image, a.Event.Process.CommandLine, a.Event.Process.User} {
		b.WriteString(strings.ToLower(s))
		b.WriteByte(0)
	}
	if a.Rule != nil {
		b.WriteString(strings.ToLower(a.Rule.Title))
		b.WriteByte(0)
		b.WriteString(strings.ToLower(a.Rule.ID))
	}
	return b.String()
}

func level(a *detect.Alert) string {
	if a.Rule == nil {
		return ""
	}
	return a.Rule.Level
}

// visible reports whether row i passes the toggles and the filter.
func (l *alertList) visible(i int) bool {
	r := l.rows[i]
	if r.a.Status == triage.StatusClosed && !l.showClosed && r.saving == "" {
		return false
	}
	if r.a.Suppressed && !l.showSuppressed {
		return false
	}
	return l.filter == "" || strings.Contains(r.search, l.filter)
}

// less orders rows i before j for the current sort; newest first within equal keys.
func (l *alertList) less(i, j int) bool {
	a, b := l.rows[i], l.rows[j]
	switch l.sort {
	case sortSeverity:
		if a.rank != b.rank {
			return a.rank < b.rank
		}
	case sortHost:
		if a.a.Host != b.a.Host {
			return a.a.Host < b.a.Host
		}
	}
	if !a.a.LastSeen.Equal(b.a.LastSeen) {
		return a.a.LastSeen.After(b.a.LastSeen)
	}
	return a.a.ID > b.a.ID
}

// resort orders every row for the current sort key, O(n log n) (the sort changed,
// alerts were evicted, or a batch changed many rows), then refilters.
func (l *alertList) resort() {
	l.order = l.order[:0]
	for i := range l.rows {
		l.order = append(l.order, i)
	}
	sort.Slice(l.order, func(x, y int) bool { return l.less(l.order[x], l.order[y]) })
	l.refilter()
}

// refilter recomputes the view from the sorted order, O(n) with no sorting: the filter
// or a toggle changed.
func (l *alertList) refilter() {
	l.view = l.view[:0]
	for _, i := range l.order {
		if l.visible(i) {
			l.view = append(l.view, i)
		}
	}
	l.restoreSelection()
}

// upsert adds or replaces alerts and keeps order and view sorted: changed rows are
// spliced out and placed again (binary search for a few, a merge for many).
func (l *alertList) upsert(as []detect.Alert) {
	if len(as) == 0 {
		return
	}
	changed := make(map[int]bool, len(as))
	for i := range as {
		a := as[i]
		l.count(&a, 1)
		if j, ok := l.byID[a.ID]; ok {
			l.count(&l.rows[j].a, -1)
			saving := l.rows[j].saving
			l.rows[j] = &row{a: a, rank: theme.SeverityRank(level(&a)), search: searchText(&a), saving: saving}
			changed[j] = true
			continue
		}
		l.byID[a.ID] = len(l.rows)
		changed[len(l.rows)] = true
		l.rows = append(l.rows, &row{a: a, rank: theme.SeverityRank(level(&a)), search: searchText(&a)})
	}
	if len(changed)*8 > len(l.order)+8 {
		l.resort()
		return
	}
	l.order = l.place(l.order, changed, func(int) bool { return true })
	l.view = l.place(l.view, changed, l.visible)
	l.restoreSelection()
}

// place removes the changed rows from the sorted index s and puts back those keep
// accepts, in order.
func (l *alertList) place(s []int, changed map[int]bool, keep func(int) bool) []int {
	kept := s[:0]
	for _, i := range s {
		if !changed[i] {
			kept = append(kept, i)
		}
	}
	s = kept
	add := make([]int, 0, len(changed))
	for i := range changed {
		if keep(i) {
			add = append(add, i)
		}
	}
	if len(add) <= 16 {
		for _, i := range add {
			at := sort.Search(len(s), func(k int) bool { return l.less(i, s[k]) })
			s = append(s, 0)
			copy(s[at+1:], s[at:])
			s[at] = i
		}
		return s
	}
	sort.Slice(add, func(x, y int) bool { return l.less(add[x], add[y]) })
	merged := make([]int, 0, len(s)+len(add))
	for len(s) > 0 && len(add) > 0 {
		if l.less(add[0], s[0]) {
			merged, add = append(merged, add[0]), add[1:]
		} else {
			merged, s = append(merged, s[0]), s[1:]
		}
	}
	return append(append(merged, s...), add...)
}

// count adds (d=1) or removes (d=-1) an alert's contribution to the open and
// suppressed totals.
func (l *alertList) count(a *detect.Alert, d int) {
	switch {
	case a.Suppressed:
		l.suppressed += d
	case a.Status != triage.StatusClosed:
		l.open += d
	}
}

// refresh re-places one row in the view after a local change (saving mark, verdict).
func (l *alertList) refresh(id string) {
	i, ok := l.byID[id]
	if !ok {
		return
	}
	l.view = l.place(l.view, map[int]bool{i: true}, l.visible)
	l.restoreSelection()
}

// restoreSelection moves the cursor to the selected alert's new place; if it left the
// view, the cursor stays at the same position (clamped) and selects what is there.
func (l *alertList) restoreSelection() {
	if l.selected != "" {
		if i, ok := l.byID[l.selected]; ok {
			for k, v := range l.view {
				if v == i {
					l.cursor = k
					l.clampOffset()
					return
				}
			}
		}
	}
	l.cursor = min(max(l.cursor, 0), max(len(l.view)-1, 0))
	l.selected = ""
	if len(l.view) > 0 {
		l.selected = l.rows[l.view[l.cursor]].a.ID
	}
	l.clampOffset()
}

func (l *alertList) clampOffset() {
	h := max(l.height, 1)
	if l.cursor < l.offset {
		l.offset = l.cursor
	}
	if l.cursor >= l.offset+h {
		l.offset = l.cursor - h + 1
	}
	l.offset = max(0, min(l.offset, len(l.view)-h))
}

// move shifts the cursor by d rows (clamped) and selects what it lands on.
func (l *alertList) move(d int) {
	if len(l.view) == 0 {
		return
	}
	l.cursor = min(max(l.cursor+d, 0), len(l.view)-1)
	l.selected = l.rows[l.view[l.cursor]].a.ID
	l.clampOffset()
}

// scroll moves the window without moving the selection unless it would leave the window.
func (l *alertList) scroll(d int) {
	h := max(l.height, 1)
	l.offset = max(0, min(l.offset+d, len(l.view)-h))
	if l.cursor < l.offset {
		l.move(l.offset - l.cursor)
	} else if l.cursor >= l.offset+h {
		l.move(l.offset + h - 1 - l.cursor)
	}
}

// clickRow selects the y-th visible row.
func (l *alertList) clickRow(y int) {
	if y < 0 || y >= l.height {
		return
	}
	if k := l.offset + y; k < len(l.view) {
		l.move(k - l.cursor)
	}
}

// current returns the selected row, or nil.
func (l *alertList) current() *row {
	if l.selected == "" {
		return nil
	}
	i, ok := l.byID[l.selected]
	if !ok {
		return nil
	}
	return l.rows[i]
}

func (l *alertList) setFilter(f string) {
	l.filter = strings.ToLower(f)
	l.refilter()
}

// openCount returns the alerts open or acknowledged (not suppressed), and suppressed.
func (l *alertList) openCount() (open, suppressed int) { return l.open, l.suppressed }

// baseName is the last path element of a Windows or POSIX path.
func baseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// statusWord is the short status shown in the list.
func statusWord(a *detect.Alert) string {
	switch a.Status {
	case triage.StatusClosed:
		switch a.Reason {
		case triage.ReasonFalsePositive:
			return "closed:FP"
		case triage.ReasonTruePositive:
			return "closed:TP"
		case triage.ReasonBenignPositive:
			return "closed:BP"
		case triage.ReasonDuplicate:
			return "closed:dup"
		}
		return "closed"
	case triage.StatusAcknowledged:
		return "ack"
	case "":
		return "open"
	}
	return string(a.Status)
}

// compactRowWidth is the list width below which rows drop seconds and "closed:" to keep
// room for the process names.
const compactRowWidth = 40

// renderRow draws one row in exactly width cells: time, severity word, host,
// parent → child, count, status, SUPPRESSED. Event text is sanitized first, then
// measured and cut, then styled.
func (l *alertList) renderRow(r *row, width int, selected bool) string {
	st := l.st
	g := st.Glyphs
	mark := " "
	if selected {
		mark = g.Selected
	}
	a := &r.a
	status := statusWord(a)
	ts := a.LastSeen.Format("15:04:05")
	if width < compactRowWidth {
		// Narrow pane (80x24): the child's name matters more than seconds and the word
		// "closed", so every row compacts those before names are cut away.
		ts = ts[:5]
		status = strings.TrimPrefix(status, "closed:")
	}
	if r.saving != "" {
		status = r.saving
	}
	tail := " " + status
	if a.Count > 1 {
		tail = " x" + strconv.Itoa(a.Count) + tail
	}
	suppTag := "SUPPRESSED"
	if width < compactRowWidth {
		suppTag = "SUPP"
	}
	if a.Suppressed {
		tail += " " + suppTag
	}
	host := ansi.Truncate(cell(a.Host), 10, g.Ellipsis)
	proc := cell(baseName(a.Event.Parent.Image)) + g.Arrow + cell(baseName(a.Event.Process.Image))
	fixed := 1 + len(ts) + 1 + 4 + 1 + ansi.StringWidth(host) + 1
	room := width - fixed - ansi.StringWidth(tail)
	if room < 4 {
		// Too narrow for everything: keep the status, drop the process names.
		room = 0
	}
	if ansi.StringWidth(proc) > room {
		// The child is what the analyst scans for: drop the parent's name first.
		proc = g.Arrow + cell(baseName(a.Event.Process.Image))
	}
	proc = ansi.Truncate(proc, room, g.Ellipsis)
	pad := max(0, width-fixed-ansi.StringWidth(proc)-ansi.StringWidth(tail))
	statusStyled := st.StatusOpen.Render(status)
	switch {
	case r.saving != "":
		statusStyled = st.Saving.Render(status)
	case a.Status == triage.StatusClosed:
		statusStyled = st.StatusClosed.Render(status)
	}
	countS := ""
	if a.Count > 1 {
		countS = " x" + strconv.Itoa(a.Count)
	}
	supp := ""
	if a.Suppressed {
		supp = " " + st.Suppressed.Render(suppTag)
	}
	line := mark + ts + " " + st.Severity(level(a)) + " " + host + " " + proc + strings.Repeat(" ", pad) + countS + " " + statusStyled + supp
	if ansi.StringWidth(line) > width {
		line = ansi.Truncate(line, width, "")
	}
	if selected {
		return st.Selected.Render(line)
	}
	return line
}

// View draws the visible rows only: O(height), never O(alerts).
func (l *alertList) View() string {
	if len(l.view) == 0 {
		msg := "no alerts yet"
		if len(l.rows) > 0 {
			msg = "no alerts match (esc clears the filter; C shows closed, S suppressed)"
		}
		return l.st.Muted.Render(ansi.Truncate(msg, l.width, l.st.Glyphs.Ellipsis))
	}
	end := min(l.offset+l.height, len(l.view))
	lines := make([]string, 0, end-l.offset)
	for k := l.offset; k < end; k++ {
		lines = append(lines, l.renderRow(l.rows[l.view[k]], l.width, k == l.cursor))
	}
	return strings.Join(lines, "\n")
}
