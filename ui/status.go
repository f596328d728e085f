package ui

import (
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/vigil-soc/vigil/detect"
	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/theme"
)

// feedView is one feed in the status bar, with its rate from successive polls.
type feedView struct {
	st      source.Status
	rate    float64 // decoded events per second over the sample window
	samples []rateSample
}

// rateSample is one poll's decoded counter.
type rateSample struct {
	at      time.Time
	decoded uint64
}

// rateWindow is how many polls the rate spans (5 s at 500 ms): a feed at a few events
// per second would read 0 half the time over a single interval.
const rateWindow = 10

// nextFeeds appends the new statuses to each feed's samples and computes its rate over
// the window. A feed whose counter went backwards (restarted) starts over.
func nextFeeds(prev []feedView, statuses []source.Status, at time.Time) []feedView {
	out := make([]feedView, len(statuses))
	for i, s := range statuses {
		out[i].st = s
		for _, p := range prev {
			if p.st.Name == s.Name && s.Decoded >= p.st.Decoded {
				out[i].samples = p.samples
			}
		}
		smp := append(out[i].samples, rateSample{at: at, decoded: s.Decoded})
		if len(smp) > rateWindow {
			smp = append(smp[:0:0], smp[len(smp)-rateWindow:]...)
		}
		out[i].samples = smp
		if first := smp[0]; len(smp) > 1 && at.After(first.at) {
			out[i].rate = float64(s.Decoded-first.decoded) / at.Sub(first.at).Seconds()
		}
	}
	return out
}

// flashLevel is how loud a flash message is.
type flashLevel uint8

const (
	flashInfo flashLevel = iota
	flashWarn
	flashError
)

// flash is a timed message in the footer; seq lets an expiry clear only its own flash.
type flash struct {
	level flashLevel
	text  string
	seq   int
}

// flashTTL is how long a flash stays.
const flashTTL = 4 * time.Second

func humanCount(n uint64) string {
	s := strconv.FormatUint(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// renderHeader draws the one-line status bar: per feed kind, address, state and rate;
// totals read, decode errors, drops; alerts open and suppressed; rules refused.
func renderHeader(feeds []feedView, stats detect.Stats, open, suppressed, evicted int, engineDone bool, width int, st *theme.Styles) string {
	g := st.Glyphs
	parts := []string{st.StatusKey.Render("vigil")}
	var read, errs, drops uint64
	for _, f := range feeds {
		s := f.st
		read += s.Records
		errs += s.DecodeErrors
		drops += s.Dropped
		stateStyle := st.FeedOK
		switch s.State {
		case source.StateError:
			stateStyle = st.FeedErr
		case source.StateReconnecting, source.StateStarting:
			stateStyle = st.FeedWarn
		}
		state := s.State.String()
		switch {
		case s.State == source.StateError && s.Detail != "":
			state += ": " + cell(s.Detail)
		case s.State == source.StateReconnecting && s.Detail != "":
			// "reconnecting in 4s; 3 disconnects, gap 12s total; why": the countdown and
			// the gap are what the analyst needs; the error shows in the feed's detail.
			d := s.Detail
			if i := strings.Index(d, "; "); i >= 0 {
				if j := strings.Index(d[i+2:], "; "); j >= 0 {
					d = d[:i+2+j]
				}
			}
			state = cell(d)
		}
		parts = append(parts, cell(s.Name)+" "+stateStyle.Render(g.Dot+" "+state)+" "+strconv.FormatFloat(f.rate, 'f', 1, 64)+" ev/s")
	}
	if len(feeds) == 0 {
		parts = append(parts, st.Muted.Render("no feeds"))
	}
	tot := "read " + humanCount(read) + " err " + humanCount(errs) + " drop " + humanCount(drops)
	parts = append(parts, tot, "alerts "+strconv.Itoa(open)+" open "+strconv.Itoa(suppressed)+" suppressed")
	if stats.RulesRefused > 0 {
		parts = append(parts, st.FeedWarn.Render(strconv.Itoa(stats.RulesRefused)+" rules refused"))
	}
	if evicted > 0 {
		parts = append(parts, st.Muted.Render(strconv.Itoa(evicted)+" older alerts only in the store"))
	}
	if engineDone {
		parts = append(parts, st.FeedWarn.Render("engine stopped"))
	}
	line := strings.Join(parts, st.Muted.Render(" "+g.BoxH+" "))
	if ansi.StringWidth(line) > width {
		line = ansi.Truncate(line, width, g.Ellipsis)
	}
	return line
}
