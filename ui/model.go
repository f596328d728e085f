// Package ui is vigil's Bubble Tea interface: the alert list, the process-tree pane,
// the tabbed detail pane, triage dialogs and the status bar. It receives data only as
// messages (engine batches, feed polls, command results) and talks to the engine only
// through detect.Command values sent from Cmds.
package ui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigil-soc/vigil/detect"
	"github.com/vigil-soc/vigil/detect/attack"
	"github.com/vigil-soc/vigil/detect/proctree"
	"github.com/vigil-soc/vigil/detect/sigma"
	"github.com/vigil-soc/vigil/detect/triage"
	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/theme"
)

// Config is what the wiring in cmd/vigil hands the UI. Channels cross goroutines; the
// UI never closes them.
type Config struct {
	Styles *theme.Styles
	// Batches is the engine's output. The UI keeps exactly one receive outstanding; the
	// engine blocks when the UI is slow (it coalesces on its side) and closes it on exit.
	Batches <-chan detect.Batch
	// Commands carries triage commands to the engine. Sends block until the engine
	// takes them or Done closes; the reply comes back as a message.
	Commands chan<- detect.Command
	// Done closes when the program is shutting down (ctx.Done()).
	Done <-chan struct{}
	// Feeds returns the feeds' statuses; polled every 500 ms from a Cmd. Nil: no feeds.
	Feeds func() []source.Status
	// Describe maps a rule to its vigil metadata for the detail tabs. Nil: detect/rules'
	// MetadataOf.
	Describe func(*sigma.Rule) RuleInfo
	// Initial alerts (loaded from the store at startup) and their trees.
	Initial      []detect.Alert
	InitialTrees map[string]proctree.Snapshot
	ReadOnly     bool
	// MaxAlerts bounds the alerts the UI holds (0: 100 000); the store keeps them all.
	MaxAlerts int
	// User is recorded as the author of allowlist entries.
	User string
	// Now is the clock for expiries and allowlist entries (nil: time.Now).
	Now func() time.Time
}

// pane identifies the focusable panes.
type pane uint8

const (
	paneAlerts pane = iota
	paneTree
	paneDetail
	paneCount
)

// mode is what has the keyboard.
type mode uint8

const (
	modeNormal mode = iota
	modeFilter
	modeNote
	modeAllow
	modeManager
	modeHelp
)

// pollInterval is how often feed statuses are polled.
const pollInterval = 500 * time.Millisecond

// maxDrain caps how many queued batches one receive folds into a message.
const maxDrain = 64

// Model is the root Bubble Tea model.
type Model struct {
	cfg  Config
	st   *theme.Styles
	keys keyMap
	help help.Model

	w, h  int
	ready bool
	lay   panes

	mode  mode
	focus pane

	list       alertList
	trees      map[string]proctree.Snapshot
	treeCursor int // index into the selected alert's snapshot nodes
	treeOpen   int // node shown in the detail pane, -1 none
	treeFor    string

	detail     detailPane
	rules      map[*sigma.Rule]ruleView
	history    map[string][]triage.Audit
	histLoaded map[string]bool
	histSeq    map[string]int // the newest History request per alert; older replies are dropped
	seq        int

	stats      detect.Stats
	feeds      []feedView
	flash      flash
	engineDone bool

	filter lineInput
	note   noteDialog
	allow  allowDialog
	mgr    manager
}

var _ tea.Model = Model{}

// New builds the root model.
func New(cfg Config) Model {
	if cfg.Styles == nil {
		cfg.Styles = theme.New(nil, theme.Dark)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Describe == nil {
		cfg.Describe = describeRule
	}
	m := Model{
		cfg:        cfg,
		st:         cfg.Styles,
		keys:       defaultKeyMap(),
		help:       help.New(),
		list:       newAlertList(cfg.Styles),
		trees:      make(map[string]proctree.Snapshot),
		rules:      make(map[*sigma.Rule]ruleView),
		history:    make(map[string][]triage.Audit),
		histLoaded: make(map[string]bool),
		histSeq:    make(map[string]int),
		treeOpen:   -1,
		filter:     newLineInput("/", 200),
	}
	m.help.Styles = help.Styles{
		ShortKey: m.st.HelpKey, ShortDesc: m.st.HelpDesc, ShortSeparator: m.st.HelpSep,
		FullKey: m.st.HelpKey, FullDesc: m.st.HelpDesc, FullSeparator: m.st.HelpSep,
		Ellipsis: m.st.HelpSep,
	}
	m.help.Ellipsis = m.st.Glyphs.Ellipsis
	m.help.ShortSeparator = " · "
	if m.st.Glyphs.Dot == theme.ASCIIGlyphs.Dot {
		m.help.ShortSeparator = " | "
	}
	if cfg.ReadOnly {
		for _, b := range m.keys.verdictKeys() {
			h := b.Help()
			b.SetHelp(h.Key, h.Desc+" (off: read-only)")
		}
	}
	if cfg.MaxAlerts > 0 {
		m.list.maxRows = cfg.MaxAlerts
	}
	m.list.upsert(cfg.Initial)
	for id, s := range cfg.InitialTrees {
		if _, held := m.list.byID[id]; held {
			m.trees[id] = s
		}
	}
	m.detail.vp = viewport.New(0, 0)
	return m
}

// Init arms the batch receive and the feed poll.
func (m Model) Init() tea.Cmd {
	return tea.Batch(waitBatch(m.cfg.Batches), pollFeeds(m.cfg.Feeds))
}

// waitBatch blocks on the engine channel, then drains what is already queued (up to
// maxDrain) into one message. It is re-armed only from batchMsg's case in Update.
func waitBatch(ch <-chan detect.Batch) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		b, ok := <-ch
		if !ok {
			return batchMsg{closed: true}
		}
		msg := batchMsg{batches: []detect.Batch{b}}
		for len(msg.batches) < maxDrain {
			select {
			case b, ok := <-ch:
				if !ok {
					msg.closed = true
					return msg
				}
				msg.batches = append(msg.batches, b)
			default:
				return msg
			}
		}
		return msg
	}
}

// pollFeeds asks for the feeds' statuses after pollInterval.
func pollFeeds(poll func() []source.Status) tea.Cmd {
	if poll == nil {
		return nil
	}
	return tea.Tick(pollInterval, func(t time.Time) tea.Msg {
		return feedsMsg{at: t, statuses: poll()}
	})
}

// errNoEngine answers commands when the UI runs without an engine.
var errNoEngine = errors.New("no engine attached")

// send returns a Cmd that hands c to the engine and waits for its reply, giving up when
// Done closes. It reads nothing from the model.
func send(cmds chan<- detect.Command, done <-chan struct{}, c detect.Command, reply chan detect.Result, wrap func(detect.Result) tea.Msg) tea.Cmd {
	return func() tea.Msg {
		if cmds == nil {
			return wrap(detect.Result{Err: errNoEngine})
		}
		select {
		case cmds <- c:
		case <-done:
			return wrap(detect.Result{Err: errors.New("shutting down")})
		}
		select {
		case r := <-reply:
			return wrap(r)
		case <-done:
			return wrap(detect.Result{Err: errors.New("shutting down")})
		}
	}
}

// setFlash shows a message and arms its expiry.
func (m *Model) setFlash(level flashLevel, text string) tea.Cmd {
	m.flash = flash{level: level, text: text, seq: m.flash.seq + 1}
	seq := m.flash.seq
	return tea.Tick(flashTTL, func(time.Time) tea.Msg { return flashExpiredMsg{seq: seq} })
}

// Update routes messages: global keys, then the active dialog or focused pane, then
// data messages to their owner.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmds []tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.resize(msg.Width, msg.Height)
	case batchMsg:
		for _, b := range msg.batches {
			m.list.upsert(b.Alerts)
			for id, s := range b.Trees {
				if _, held := m.list.byID[id]; held {
					m.trees[id] = s
				}
			}
			m.stats = b.Stats
		}
		for _, id := range m.list.evict() {
			delete(m.trees, id)
			m.forgetHistory(id)
		}
		if msg.closed {
			m.engineDone = true
			cmds = append(cmds, m.setFlash(flashWarn, "the engine stopped; no new alerts will arrive"))
		} else {
			cmds = append(cmds, waitBatch(m.cfg.Batches))
		}
	case feedsMsg:
		m.feeds = nextFeeds(m.feeds, msg.statuses, msg.at)
		cmds = append(cmds, pollFeeds(m.cfg.Feeds))
	case verdictSavedMsg:
		if r, ok := m.list.byID[msg.alertID]; ok {
			m.list.rows[r].saving = ""
		}
		if msg.res.Err != nil {
			cmds = append(cmds, m.setFlash(flashError, "not saved: "+cell(msg.res.Err.Error())))
		} else {
			// Take the verdict onto the alert we hold: the reply's copy may be older than
			// a batch that already arrived (count, last seen).
			if i, ok := m.list.byID[msg.alertID]; ok {
				a := m.list.rows[i].a
				a.Status, a.Reason = msg.res.Alert.Status, msg.res.Alert.Reason
				m.list.upsert([]detect.Alert{a})
			}
			m.forgetHistory(msg.alertID)
			cmds = append(cmds, m.setFlash(flashInfo, "saved: "+statusWord(&msg.res.Alert)))
		}
		m.list.refresh(msg.alertID)
	case allowSavedMsg:
		if r, ok := m.list.byID[msg.alertID]; ok {
			m.list.rows[r].saving = ""
		}
		if msg.res.Err != nil {
			cmds = append(cmds, m.setFlash(flashError, "allowlist not saved: "+cell(msg.res.Err.Error())))
		} else {
			cmds = append(cmds, m.setFlash(flashInfo, fmt.Sprintf("allowlisted as %s; closed %d alert(s)", cell(msg.res.Entry.ID), msg.res.Closed)))
		}
		m.list.refresh(msg.alertID)
	case countedMsg:
		if m.mode == modeAllow && msg.seq == m.allow.countSeq {
			m.allow.count, m.allow.countErr = msg.res.Closed, ""
			if msg.res.Err != nil {
				m.allow.countErr = msg.res.Err.Error()
			}
		}
	case historyMsg:
		if msg.seq == m.histSeq[msg.alertID] {
			if msg.res.Err != nil {
				cmds = append(cmds, m.setFlash(flashWarn, "history: "+cell(msg.res.Err.Error())))
			}
			m.history[msg.alertID] = msg.res.History
			m.histLoaded[msg.alertID] = true
		}
	case allowListedMsg:
		m.mgr.loaded = true
		m.mgr.err = ""
		if msg.res.Err != nil {
			m.mgr.err = msg.res.Err.Error()
		}
		m.mgr.entries = msg.res.Entries
		m.mgr.cursor = min(m.mgr.cursor, max(len(m.mgr.entries)-1, 0))
	case allowRemovedMsg:
		if msg.res.Err != nil {
			cmds = append(cmds, m.setFlash(flashError, "not removed: "+cell(msg.res.Err.Error())))
		} else {
			cmds = append(cmds, m.setFlash(flashInfo, "removed allowlist entry "+cell(msg.id)), m.listAllowCmd())
		}
	case flashExpiredMsg:
		if msg.seq == m.flash.seq {
			m.flash = flash{seq: m.flash.seq}
		}
	case tea.MouseMsg:
		m.mouse(msg)
	case tea.KeyMsg:
		// Bubble Tea delivers runes that arrived in one read as one message ("gf" when
		// keys are typed fast or sent by tmux): handle them one key at a time.
		keys := []tea.KeyMsg{msg}
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste {
			keys = keys[:0]
			for _, r := range msg.Runes {
				keys = append(keys, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt})
			}
		}
		for _, k := range keys {
			var c tea.Cmd
			var quit bool
			m, c, quit = m.key(k)
			if quit {
				return m, tea.Quit
			}
			cmds = append(cmds, c)
		}
	}
	cmds = append(cmds, m.sync())
	return m, tea.Batch(cmds...)
}

// resize applies a new terminal size to every child.
func (m *Model) resize(w, h int) {
	m.w, m.h, m.ready = w, h, true
	m.lay = layout(w, h, layoutState{})
	if m.lay.TooSmall {
		return
	}
	m.list.width = m.lay.Alerts.W - 2
	m.list.height = max(m.lay.Alerts.H-3, 1) // borders and the title line
	m.list.clampOffset()
	m.detail.vp.Width = max(m.lay.Detail.W-2, 1)
	m.detail.vp.Height = max(m.lay.Detail.H-3, 1)
	m.detail.key = "" // re-wrap
	m.help.Width = w
}

// mouse: the wheel scrolls the pane under the pointer; a click selects an alert row.
func (m *Model) mouse(msg tea.MouseMsg) {
	if !m.ready || m.lay.TooSmall || m.mode != modeNormal {
		return
	}
	over := paneAlerts
	switch {
	case m.lay.Tree.contains(msg.X, msg.Y):
		over = paneTree
	case m.lay.Detail.contains(msg.X, msg.Y):
		over = paneDetail
	}
	switch msg.Button {
	case tea.MouseButtonWheelUp, tea.MouseButtonWheelDown:
		d := 3
		if msg.Button == tea.MouseButtonWheelUp {
			d = -3
		}
		switch over {
		case paneAlerts:
			m.list.scroll(d)
		case paneTree:
			m.moveTree(d / 3)
		case paneDetail:
			if d < 0 {
				m.detail.vp.ScrollUp(-d)
			} else {
				m.detail.vp.ScrollDown(d)
			}
		}
	case tea.MouseButtonLeft:
		if msg.Action != tea.MouseActionPress {
			return
		}
		m.focus = over
		if over == paneAlerts {
			m.list.clickRow(msg.Y - m.lay.Alerts.Y - 2)
		}
	}
}

// snapshot returns the selected alert's latest process tree.
func (m *Model) snapshot() (proctree.Snapshot, bool) {
	r := m.list.current()
	if r == nil {
		return proctree.Snapshot{}, false
	}
	s, ok := m.trees[r.a.ID]
	return s, ok
}

func (m *Model) moveTree(d int) {
	s, ok := m.snapshot()
	if !ok || len(s.Nodes) == 0 {
		return
	}
	m.treeCursor = min(max(m.treeCursor+d, 0), len(s.Nodes)-1)
}

// key handles one key press; quit reports that the program should end.
func (m Model) key(k tea.KeyMsg) (Model, tea.Cmd, bool) {
	if key.Matches(k, m.keys.ForceQuit) {
		return m, nil, true
	}
	switch m.mode {
	case modeFilter:
		switch k.Type {
		case tea.KeyEsc:
			m.filter.SetValue("")
			m.list.setFilter("")
			m.mode = modeNormal
		case tea.KeyEnter:
			m.mode = modeNormal
		default:
			m.filter, _ = m.filter.Update(k)
			m.list.setFilter(m.filter.Value())
		}
		return m, nil, false
	case modeNote:
		return m.noteKey(k)
	case modeAllow:
		return m.allowKey(k)
	case modeManager:
		return m.managerKey(k)
	case modeHelp:
		if key.Matches(k, m.keys.Help, m.keys.Clear, m.keys.Quit) {
			m.mode = modeNormal
		}
		return m, nil, false
	}

	switch {
	case key.Matches(k, m.keys.Quit):
		return m, nil, true
	case key.Matches(k, m.keys.Help):
		m.mode = modeHelp
		return m, nil, false
	case key.Matches(k, m.keys.Filter):
		m.mode = modeFilter
		m.filter.Focus()
		return m, nil, false
	case key.Matches(k, m.keys.Clear):
		switch {
		case m.treeOpen >= 0:
			m.treeOpen = -1
		case m.list.filter != "":
			m.filter.SetValue("")
			m.list.setFilter("")
		case m.focus != paneAlerts:
			m.focus = paneAlerts
		}
		return m, nil, false
	case key.Matches(k, m.keys.NextPane):
		m.focus = (m.focus + 1) % paneCount
		m.enterTree()
		return m, nil, false
	case key.Matches(k, m.keys.PrevPane):
		m.focus = (m.focus + paneCount - 1) % paneCount
		m.enterTree()
		return m, nil, false
	case key.Matches(k, m.keys.NextTab):
		m.detail.tab = (m.detail.tab + 1) % tabCount
		return m, nil, false
	case key.Matches(k, m.keys.PrevTab):
		m.detail.tab = (m.detail.tab + tabCount - 1) % tabCount
		return m, nil, false
	case key.Matches(k, m.keys.TabN):
		m.detail.tab = int(k.Runes[0] - '1')
		return m, nil, false
	case key.Matches(k, m.keys.Sort):
		m.list.sort = (m.list.sort + 1) % sortKeys
		m.list.resort()
		return m, m.setFlash(flashInfo, "sorted by "+m.list.sort.String()), false
	case key.Matches(k, m.keys.ShowClosed):
		m.list.showClosed = !m.list.showClosed
		m.list.refilter()
		return m, m.setFlash(flashInfo, onOff("closed alerts", m.list.showClosed)), false
	case key.Matches(k, m.keys.ShowSuppressed):
		m.list.showSuppressed = !m.list.showSuppressed
		m.list.refilter()
		return m, m.setFlash(flashInfo, onOff("suppressed alerts", m.list.showSuppressed)), false
	case key.Matches(k, m.keys.Allowlists):
		m.mode = modeManager
		m.mgr = manager{}
		return m, m.listAllowCmd(), false
	case key.Matches(k, m.keys.FalsePositive, m.keys.TruePositive, m.keys.BenignPositive, m.keys.Acknowledge, m.keys.Reopen, m.keys.Allowlist):
		c := m.verdict(k)
		return m, c, false
	}

	switch m.focus {
	case paneAlerts:
		switch {
		case key.Matches(k, m.keys.Up):
			m.list.move(-1)
		case key.Matches(k, m.keys.Down):
			m.list.move(1)
		case key.Matches(k, m.keys.Top):
			m.list.move(-len(m.list.view))
		case key.Matches(k, m.keys.Bottom):
			m.list.move(len(m.list.view))
		case key.Matches(k, m.keys.PageUp):
			m.list.move(-m.list.height)
		case key.Matches(k, m.keys.PageDown):
			m.list.move(m.list.height)
		case key.Matches(k, m.keys.Open):
			m.focus = paneTree
			m.enterTree()
		}
	case paneTree:
		switch {
		case key.Matches(k, m.keys.Up):
			m.moveTree(-1)
		case key.Matches(k, m.keys.Down):
			m.moveTree(1)
		case key.Matches(k, m.keys.Top):
			m.moveTree(-1 << 20)
		case key.Matches(k, m.keys.Bottom):
			m.moveTree(1 << 20)
		case key.Matches(k, m.keys.Open):
			m.treeOpen = m.treeCursor
			m.detail.tab = tabEvent
		}
	case paneDetail:
		switch {
		case key.Matches(k, m.keys.Up):
			m.detail.vp.ScrollUp(1)
		case key.Matches(k, m.keys.Down):
			m.detail.vp.ScrollDown(1)
		case key.Matches(k, m.keys.PageUp):
			m.detail.vp.PageUp()
		case key.Matches(k, m.keys.PageDown):
			m.detail.vp.PageDown()
		case key.Matches(k, m.keys.Top):
			m.detail.vp.GotoTop()
		case key.Matches(k, m.keys.Bottom):
			m.detail.vp.GotoBottom()
		}
	}
	return m, nil, false
}

func onOff(what string, on bool) string {
	if on {
		return "showing " + what
	}
	return "hiding " + what
}

// enterTree puts the tree cursor on the alerting process when the tree gets focus.
func (m *Model) enterTree() {
	if m.focus != paneTree {
		return
	}
	if s, ok := m.snapshot(); ok {
		m.treeCursor = s.Focus
	}
}

// verdict starts a triage action on the selected alert.
func (m *Model) verdict(k tea.KeyMsg) tea.Cmd {
	if m.cfg.ReadOnly {
		return m.setFlash(flashWarn, "read-only: verdicts and allowlist edits are disabled (--read-only)")
	}
	if m.engineDone {
		return m.setFlash(flashError, "the engine stopped: verdicts cannot be saved")
	}
	r := m.list.current()
	if r == nil {
		return m.setFlash(flashWarn, "no alert selected")
	}
	if r.saving != "" {
		return m.setFlash(flashWarn, "still saving the previous change to this alert")
	}
	if key.Matches(k, m.keys.Allowlist) {
		m.allow = newAllowDialog(&r.a)
		m.mode = modeAllow
		return m.countCmd()
	}
	nd := noteDialog{alertID: r.a.ID, input: newLineInput("note: ", 500)}
	switch {
	case key.Matches(k, m.keys.FalsePositive):
		nd.to, nd.reason, nd.title = triage.StatusClosed, triage.ReasonFalsePositive, "close as false positive"
	case key.Matches(k, m.keys.TruePositive):
		nd.to, nd.reason, nd.title = triage.StatusClosed, triage.ReasonTruePositive, "close as true positive"
	case key.Matches(k, m.keys.BenignPositive):
		nd.to, nd.reason, nd.title = triage.StatusClosed, triage.ReasonBenignPositive, "close as benign positive"
	case key.Matches(k, m.keys.Acknowledge):
		if r.a.Status == triage.StatusAcknowledged {
			return m.setFlash(flashWarn, "already acknowledged")
		}
		nd.to, nd.title = triage.StatusAcknowledged, "acknowledge"
	case key.Matches(k, m.keys.Reopen):
		if r.a.Status == triage.StatusOpen || r.a.Status == "" {
			return m.setFlash(flashWarn, "already open")
		}
		nd.to, nd.title = triage.StatusOpen, "reopen"
	}
	m.note = nd
	m.mode = modeNote
	return nil
}

func (m Model) noteKey(k tea.KeyMsg) (Model, tea.Cmd, bool) {
	switch k.Type {
	case tea.KeyEsc:
		m.mode = modeNormal
		return m, nil, false
	case tea.KeyEnter:
		m.mode = modeNormal
		nd := m.note
		i, ok := m.list.byID[nd.alertID]
		if !ok {
			return m, m.setFlash(flashError, "the alert is gone"), false
		}
		m.list.rows[i].saving = "saving…"
		m.list.refresh(nd.alertID)
		reply := make(chan detect.Result, 1)
		c := detect.SetStatus{AlertID: nd.alertID, To: nd.to, Reason: nd.reason, Note: strings.TrimSpace(nd.input.Value()), Reply: reply}
		id := nd.alertID
		return m, send(m.cfg.Commands, m.cfg.Done, c, reply, func(r detect.Result) tea.Msg { return verdictSavedMsg{alertID: id, res: r} }), false
	}
	m.note.input, _ = m.note.input.Update(k)
	return m, nil, false
}

// countCmd asks the engine how many open alerts the dialog's entry would close.
func (m *Model) countCmd() tea.Cmd {
	m.allow.countSeq++
	m.allow.count = -1
	seq := m.allow.countSeq
	reply := make(chan detect.Result, 1)
	c := detect.CountMatching{Entry: m.allow.entry(m.cfg.User, m.cfg.Now()), Reply: reply}
	return send(m.cfg.Commands, m.cfg.Done, c, reply, func(r detect.Result) tea.Msg { return countedMsg{seq: seq, res: r} })
}

func (m Model) allowKey(k tea.KeyMsg) (Model, tea.Cmd, bool) {
	d := &m.allow
	if d.confirm {
		switch {
		case k.Type == tea.KeyRunes && string(k.Runes) == "y":
			m.mode = modeNormal
			id := d.alertID
			if i, ok := m.list.byID[id]; ok {
				m.list.rows[i].saving = "saving…"
				m.list.refresh(id)
			}
			reply := make(chan detect.Result, 1)
			c := detect.AddAllow{Entry: d.entry(m.cfg.User, m.cfg.Now()), CloseMatching: true, CloseReason: triage.ReasonBenignPositive, Reply: reply}
			return m, send(m.cfg.Commands, m.cfg.Done, c, reply, func(r detect.Result) tea.Msg { return allowSavedMsg{alertID: id, res: r} }), false
		case k.Type == tea.KeyEsc || (k.Type == tea.KeyRunes && string(k.Runes) == "n"):
			d.confirm = false
		}
		return m, nil, false
	}
	onText := d.cursor >= rowReason
	switch {
	case k.Type == tea.KeyEsc:
		m.mode = modeNormal
		return m, nil, false
	case k.Type == tea.KeyUp || k.Type == tea.KeyShiftTab:
		d.focusRow(d.cursor - 1)
		return m, nil, false
	case k.Type == tea.KeyDown || k.Type == tea.KeyTab:
		d.focusRow(d.cursor + 1)
		return m, nil, false
	case k.Type == tea.KeyEnter:
		if err := d.validate(m.cfg.Now()); err != nil {
			d.err = err.Error()
			return m, nil, false
		}
		d.err = ""
		d.confirm = true
		return m, nil, false
	case !onText && (k.Type == tea.KeySpace || (k.Type == tea.KeyRunes && string(k.Runes) == " ")):
		d.conds[d.cursor].on = !d.conds[d.cursor].on
		return m, m.countCmd(), false
	case !onText && k.Type == tea.KeyRunes && string(k.Runes) == "w":
		c := &d.conds[d.cursor]
		if c.wide == "" {
			d.err = c.label + " cannot be widened"
			return m, nil, false
		}
		c.widened = !c.widened
		c.on = true
		return m, m.countCmd(), false
	case !onText && k.Type == tea.KeyRunes && (string(k.Runes) == "j" || string(k.Runes) == "k"):
		if string(k.Runes) == "j" {
			d.focusRow(d.cursor + 1)
		} else {
			d.focusRow(d.cursor - 1)
		}
		return m, nil, false
	}
	switch d.cursor {
	case rowReason:
		d.reason, _ = d.reason.Update(k)
	case rowExpiry:
		d.expiry, _ = d.expiry.Update(k)
	}
	return m, nil, false
}

func (m *Model) listAllowCmd() tea.Cmd {
	reply := make(chan detect.Result, 1)
	return send(m.cfg.Commands, m.cfg.Done, detect.ListAllow{Reply: reply}, reply, func(r detect.Result) tea.Msg { return allowListedMsg{res: r} })
}

func (m Model) managerKey(k tea.KeyMsg) (Model, tea.Cmd, bool) {
	g := &m.mgr
	if g.confirm {
		switch {
		case k.Type == tea.KeyRunes && string(k.Runes) == "y":
			g.confirm = false
			if g.cursor < len(g.entries) {
				id := g.entries[g.cursor].ID
				reply := make(chan detect.Result, 1)
				return m, send(m.cfg.Commands, m.cfg.Done, detect.RemoveAllow{ID: id, Reply: reply}, reply, func(r detect.Result) tea.Msg { return allowRemovedMsg{id: id, res: r} }), false
			}
		case k.Type == tea.KeyEsc || (k.Type == tea.KeyRunes && string(k.Runes) == "n"):
			g.confirm = false
		}
		return m, nil, false
	}
	switch {
	case key.Matches(k, m.keys.Quit):
		return m, nil, true
	case key.Matches(k, m.keys.Clear, m.keys.Allowlists):
		m.mode = modeNormal
	case key.Matches(k, m.keys.Up):
		g.cursor = max(g.cursor-1, 0)
	case key.Matches(k, m.keys.Down):
		g.cursor = min(g.cursor+1, max(len(g.entries)-1, 0))
	case k.Type == tea.KeyRunes && string(k.Runes) == "x":
		if m.cfg.ReadOnly {
			return m, m.setFlash(flashWarn, "read-only: allowlist edits are disabled (--read-only)"), false
		}
		if len(g.entries) > 0 {
			g.confirm = true
		}
	}
	return m, nil, false
}

// forgetHistory drops a cached audit trail after the alert changed.
func (m *Model) forgetHistory(id string) {
	delete(m.history, id)
	delete(m.histLoaded, id)
	delete(m.histSeq, id)
}

// ruleView resolves (once per rule) what the detail tabs show about it.
func (m *Model) ruleView(r *sigma.Rule) ruleView {
	if r == nil {
		return ruleView{}
	}
	if v, ok := m.rules[r]; ok {
		return v
	}
	var v ruleView
	if m.cfg.Describe != nil {
		v.info = m.cfg.Describe(r)
	}
	v.att = attack.Embedded().Resolve(r.Tags)
	m.rules[r] = v
	return v
}

// sync rebuilds the detail content when what it shows changed, and asks for the
// selected alert's history when the History tab needs it.
func (m *Model) sync() tea.Cmd {
	if !m.ready || m.lay.TooSmall {
		return nil
	}
	r := m.list.current()
	if r == nil {
		if m.detail.key != "none" {
			m.detail.key = "none"
			m.detail.setContent("")
		}
		return nil
	}
	if m.treeFor != r.a.ID {
		m.treeFor, m.treeOpen, m.treeCursor = r.a.ID, -1, 0
		if s, ok := m.trees[r.a.ID]; ok {
			m.treeCursor = s.Focus
		}
	}
	hist, histLoaded := m.history[r.a.ID], m.histLoaded[r.a.ID]
	var cmd tea.Cmd
	if m.detail.tab == tabHistory && !histLoaded && m.histSeq[r.a.ID] == 0 {
		m.seq++
		m.histSeq[r.a.ID] = m.seq
		seq, id := m.seq, r.a.ID
		reply := make(chan detect.Result, 1)
		cmd = send(m.cfg.Commands, m.cfg.Done, detect.History{AlertID: id, Reply: reply}, reply, func(res detect.Result) tea.Msg { return historyMsg{alertID: id, seq: seq, res: res} })
	}
	var node *proctree.Node
	if s, ok := m.trees[r.a.ID]; ok && m.treeOpen >= 0 && m.treeOpen < len(s.Nodes) {
		n := s.Nodes[m.treeOpen]
		node = &n
	}
	k := fmt.Sprintf("%s|%d|%d|%d|%s|%d|%s|%d|%v", r.a.ID, m.detail.tab, m.treeOpen, r.a.Count, r.a.Status, len(hist), r.a.LastSeen, m.detail.vp.Width, histLoaded)
	if k != m.detail.key {
		sameAlert := strings.HasPrefix(m.detail.key, r.a.ID+"|"+fmt.Sprint(m.detail.tab)+"|")
		m.detail.key = k
		m.detail.setContent(buildDetail(&r.a, m.detail.tab, m.ruleView(r.a.Rule), node, hist, histLoaded, m.detail.vp.Width, m.st))
		if !sameAlert {
			m.detail.vp.GotoTop()
		}
	}
	return cmd
}

// View draws the screen. It reads state only; its cost is O(visible rows).
func (m Model) View() string {
	if !m.ready {
		return "vigil: starting…"
	}
	if m.lay.TooSmall {
		return fitBox(fmt.Sprintf("terminal too small: %dx%d, vigil needs at least %dx%d", m.w, m.h, minWidth, minHeight), m.w, m.h)
	}
	open, supp := m.list.openCount()
	header := fitBox(renderHeader(m.feeds, m.stats, open, supp, m.list.evicted, m.engineDone, m.w, m.st), m.w, 1)
	var body string
	bodyH := m.lay.Alerts.H
	switch m.mode {
	case modeHelp:
		body = m.box(rect{W: m.w, H: bodyH}, "HELP", m.help.FullHelpView(m.keys.FullHelp()), true)
	case modeManager:
		body = m.box(rect{W: m.w, H: bodyH}, "ALLOWLIST", m.mgr.view(m.w-2, bodyH-3, m.cfg.Now(), m.st), true)
	default:
		left := m.boxLines(m.lay.Alerts, m.alertsTitle(), m.list.View(), m.focus == paneAlerts)
		var right []string
		if m.mode == modeAllow {
			right = m.boxLines(rect{W: m.lay.Tree.W, H: bodyH}, "ALLOWLIST", m.allow.view(m.lay.Tree.W-2, bodyH-3, m.st), true)
		} else {
			right = append(m.treeBox(), m.detailBox()...)
		}
		// Every line of both columns has its exact width: zip them.
		var b strings.Builder
		for i := range left {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(left[i])
			if i < len(right) {
				b.WriteString(right[i])
			}
		}
		body = b.String()
	}
	return header + "\n" + body + "\n" + m.footer()
}

func (m Model) alertsTitle() string {
	t := fmt.Sprintf("ALERTS %d/%d by %s", len(m.list.view), len(m.list.rows), m.list.sort)
	if m.list.filter != "" {
		t += " /" + cell(m.list.filter)
	}
	return t
}

// box draws a bordered pane: the title (bracketed when focused, so focus shows without
// colour) on the first inner line, then content cut and padded to fit. The border is
// drawn here rather than by lipgloss: the inner lines already have their exact width,
// and lipgloss would measure every cell again.
func (m Model) box(r rect, title, content string, focused bool) string {
	return strings.Join(m.boxLines(r, title, content, focused), "\n")
}

func (m Model) boxLines(r rect, title, content string, focused bool) []string {
	iw, ih := max(r.W-2, 1), max(r.H-2, 1)
	g := m.st.Glyphs
	bs, ts := m.st.Border, m.st.PaneTitle
	t := " " + title + " "
	if focused {
		bs, ts = m.st.FocusedBorder, m.st.FocusedTitle
		t = "[" + title + "]"
	}
	head := ts.Render(ansi.Truncate(t, iw, g.Ellipsis))
	inner := strings.Split(fitBox(head+"\n"+content, iw, ih), "\n")
	side := bs.Render(g.BoxV)
	lines := make([]string, 0, ih+2)
	lines = append(lines, bs.Render(g.BoxTL+strings.Repeat(g.BoxH, iw)+g.BoxTR))
	for _, l := range inner {
		lines = append(lines, side+l+side)
	}
	return append(lines, bs.Render(g.BoxBL+strings.Repeat(g.BoxH, iw)+g.BoxBR))
}

func (m Model) treeBox() []string {
	title := "PROCESS TREE"
	content := ""
	if r := m.list.current(); r != nil {
		title += " " + cell(r.a.Host)
		cursor := -1
		if m.focus == paneTree {
			cursor = m.treeCursor
		}
		if s, ok := m.trees[r.a.ID]; ok {
			content = renderTree(s, m.lay.Tree.W-2, m.lay.Tree.H-3, cursor, m.st)
		} else {
			content = m.st.Muted.Render("no process tree for this alert")
		}
	}
	return m.boxLines(m.lay.Tree, title, content, m.focus == paneTree)
}

func (m Model) detailBox() []string {
	iw := m.lay.Detail.W - 2
	return m.boxLines(m.lay.Detail, "DETAIL", tabBar(m.detail.tab, iw, m.st)+"\n"+m.detail.view(), m.focus == paneDetail)
}

func (m Model) footer() string {
	var s string
	switch {
	case m.mode == modeNote:
		s = m.st.StatusKey.Render(m.note.title) + "  " + m.note.input.View() + m.st.Muted.Render("  (enter confirm, esc cancel)")
	case m.mode == modeFilter:
		s = m.filter.View() + m.st.Muted.Render("  (enter keep, esc clear)")
	case m.flash.text != "":
		st := m.st.FlashInfo
		switch m.flash.level {
		case flashWarn:
			st = m.st.FlashWarn
		case flashError:
			st = m.st.FlashError
		}
		s = st.Render(m.flash.text)
	default:
		s = m.help.ShortHelpView(m.keys.ShortHelp())
	}
	return fitBox(s, m.w, 1)
}
