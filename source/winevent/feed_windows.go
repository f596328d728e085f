//go:build windows

package winevent

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/source/decode"
)

var (
	wevtapi               = windows.NewLazySystemDLL("wevtapi.dll")
	procEvtSubscribe      = wevtapi.NewProc("EvtSubscribe")
	procEvtNext           = wevtapi.NewProc("EvtNext")
	procEvtRender         = wevtapi.NewProc("EvtRender")
	procEvtClose          = wevtapi.NewProc("EvtClose")
	procEvtCreateBookmark = wevtapi.NewProc("EvtCreateBookmark")
	procEvtUpdateBookmark = wevtapi.NewProc("EvtUpdateBookmark")
)

// Values from winevt.h.
const (
	evtSubscribeToFutureEvents      = 1
	evtSubscribeStartAfterBookmark  = 3
	evtSubscribeTolerateQueryErrors = 0x1000
	evtRenderEventXML               = 1
	evtRenderBookmark               = 2

	errorNoMoreItems           = windows.Errno(259)
	errorInsufficientBuffer    = windows.Errno(122)
	errorEvtQueryResultStale   = windows.Errno(15011)
	errorEvtChannelNotFound    = windows.Errno(15007)
	errorEvtQueryResultInvalid = windows.Errno(15012)
)

const (
	batchSize     = 64
	waitSlice     = 250 // ms: how often a wait looks at ctx
	saveEvery     = time.Second
	saveTimeout   = 5 * time.Second
	retryDelay    = 5 * time.Second
	initialRender = 16 << 10
)

type evtHandle uintptr

// Feed is a subscription to the local event log.
type Feed struct {
	name      string
	query     string
	cps       source.Checkpointer
	maxRecord int
	counters  source.Counters
}

// New checks cfg and returns a feed ready to Run.
func New(cfg Config) (*Feed, error) {
	sel, err := selections(cfg)
	if err != nil {
		return nil, err
	}
	name := cfg.Name
	if name == "" {
		name = "winlog"
	}
	f := &Feed{name: name, query: buildQuery(sel), cps: cfg.Checkpoints, maxRecord: cfg.MaxRecord}
	if f.maxRecord == 0 {
		f.maxRecord = decode.DefaultMaxRecord
	}
	f.counters.SetState(source.StateStarting, "")
	return f, nil
}

// Name returns the feed's name as shown in the status bar.
func (f *Feed) Name() string { return f.name }

// Status returns a snapshot of the feed's counters and state.
func (f *Feed) Status() source.Status { return f.counters.Snapshot(f.name, "winlog") }

// Run subscribes and hands over events until ctx is done, then saves the bookmark. The
// event log keeps what was not read, so sends block on out (select on ctx) and nothing
// is dropped. A stale subscription (the log wrapped) is re-opened after the bookmark.
func (f *Feed) Run(ctx context.Context, out chan<- source.Event) error {
	for {
		err := f.runOnce(ctx, out)
		if ctx.Err() != nil || err == nil {
			return nil
		}
		if !errors.Is(err, errorEvtQueryResultStale) {
			f.counters.SetState(source.StateError, err.Error())
			return err
		}
		f.counters.SetState(source.StateReconnecting, "the event log wrapped past the bookmark; resubscribing")
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retryDelay):
		}
	}
}

func (f *Feed) runOnce(ctx context.Context, out chan<- source.Event) error {
	signal, err := windows.CreateEvent(nil, 1, 1, nil)
	if err != nil {
		return fmt.Errorf("winevent: create event: %w", err)
	}
	defer windows.CloseHandle(signal)

	note := "" // why the feed did not resume, shown with the tailing state
	saved, err := f.loadBookmark(ctx)
	if err != nil {
		note = err.Error() + "; started with new events"
	}
	bm, err := createBookmark(saved)
	if err != nil && saved != "" {
		note = fmt.Sprintf("winevent: saved bookmark refused (%v); started with new events", err)
		saved = ""
		bm, err = createBookmark("")
	}
	if err != nil {
		return fmt.Errorf("winevent: create bookmark: %w", err)
	}
	defer evtClose(bm)

	flags := uintptr(evtSubscribeToFutureEvents | evtSubscribeTolerateQueryErrors)
	var after evtHandle
	if saved != "" {
		flags = evtSubscribeStartAfterBookmark | evtSubscribeTolerateQueryErrors
		after = bm
	}
	q, err := utf16FromString(f.query)
	if err != nil {
		return fmt.Errorf("winevent: query: %w", err)
	}
	r, _, callErr := procEvtSubscribe.Call(0, uintptr(signal), 0, uintptr(unsafe.Pointer(&q[0])), uintptr(after), 0, 0, flags)
	if r == 0 {
		return fmt.Errorf("winevent: subscribe to %s: %w", f.query, explain(callErr))
	}
	sub := evtHandle(r)
	defer evtClose(sub)
	f.counters.SetState(source.StateTailing, note)

	dirty := false
	lastSave := time.Now()
	defer func() {
		if dirty {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
			f.saveBookmark(sctx, bm)
			cancel()
		}
	}()
	handles := make([]evtHandle, batchSize)
	buf := make([]uint16, initialRender/2)
	reset := false // the signal was reset since the last EvtNext that found nothing
	for {
		if dirty && time.Since(lastSave) >= saveEvery {
			f.saveBookmark(ctx, bm)
			dirty, lastSave = false, time.Now()
		}
		var n uint32
		r, _, callErr := procEvtNext.Call(uintptr(sub), batchSize, uintptr(unsafe.Pointer(&handles[0])), 0, 0, uintptr(unsafe.Pointer(&n)))
		if r == 0 {
			if errors.Is(callErr, errorNoMoreItems) {
				// Reset, then look once more before waiting: an event that arrived
				// between the empty EvtNext and the reset would otherwise wait for the
				// next one to signal.
				if !reset {
					windows.ResetEvent(signal)
					reset = true
					continue
				}
				reset = false
				if err := wait(ctx, signal, saveEvery); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return err
				}
				continue
			}
			return fmt.Errorf("winevent: next event: %w", explain(callErr))
		}
		reset = false
		for i := range handles[:n] {
			h := handles[i]
			if ctx.Err() != nil {
				evtClose(h)
				continue // closing the rest; they stay after the bookmark
			}
			var err error
			buf, err = f.handle(ctx, h, buf, out)
			if err == nil {
				updateBookmark(bm, h)
				dirty = true
			}
			evtClose(h)
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// handle renders one event and hands it over. An error means it was not handed over.
func (f *Feed) handle(ctx context.Context, h evtHandle, buf []uint16, out chan<- source.Event) ([]uint16, error) {
	c := &f.counters
	c.Records.Add(1)
	xml, buf, err := render(h, evtRenderEventXML, buf, f.maxRecord)
	if errors.Is(err, errTooBig) {
		c.Skipped.Add(1)
		return buf, nil
	}
	if err != nil {
		c.DecodeError(source.FormatXML, "winlog: render: "+err.Error())
		return buf, nil
	}
	c.Bytes.Add(uint64(len(xml)))
	if len(xml) > f.maxRecord { // render bounds UTF-16 bytes; the limit is on the text
		c.Skipped.Add(1)
		return buf, nil
	}
	var ev source.Event
	if err := decode.Decode([]byte(xml), source.Origin{Feed: f.name, Where: "winlog"}, &ev); err != nil {
		c.DecodeError(source.FormatXML, err.Error())
		return buf, nil
	}
	c.Event(ev.Time) // counted before the send so a receiver never sees counters lag
	select {
	case out <- ev:
		return buf, nil
	case <-ctx.Done():
		return buf, ctx.Err()
	}
}

// wait blocks until the subscription signals, max passes (so a moved bookmark gets
// saved while the log is quiet) or ctx is done.
func wait(ctx context.Context, signal windows.Handle, max time.Duration) error {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		ev, err := windows.WaitForSingleObject(signal, waitSlice)
		if err != nil {
			return fmt.Errorf("winevent: wait: %w", err)
		}
		if ev == windows.WAIT_OBJECT_0 {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

var errTooBig = errors.New("rendered event larger than the record limit")

// render renders h (an event or a bookmark) to a string, growing buf up to max bytes.
func render(h evtHandle, flags uintptr, buf []uint16, max int) (string, []uint16, error) {
	for {
		var used, props uint32
		r, _, callErr := procEvtRender.Call(0, uintptr(h), flags, uintptr(len(buf)*2), uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&used)), uintptr(unsafe.Pointer(&props)))
		if r != 0 {
			return utf16ToString(buf[:min(int(used/2), len(buf))]), buf, nil
		}
		if !errors.Is(callErr, errorInsufficientBuffer) {
			return "", buf, callErr
		}
		if int(used) > max*2 { // UTF-16: up to two bytes per byte of UTF-8 text
			return "", buf, errTooBig
		}
		buf = make([]uint16, used/2+1)
	}
}

func createBookmark(xml string) (evtHandle, error) {
	var p uintptr
	if xml != "" {
		u, err := utf16FromString(xml)
		if err != nil {
			return 0, err
		}
		p = uintptr(unsafe.Pointer(&u[0]))
	}
	r, _, err := procEvtCreateBookmark.Call(p)
	if r == 0 {
		return 0, err
	}
	return evtHandle(r), nil
}

func updateBookmark(bm, ev evtHandle) { procEvtUpdateBookmark.Call(uintptr(bm), uintptr(ev)) }

func evtClose(h evtHandle) {
	if h != 0 {
		procEvtClose.Call(uintptr(h))
	}
}

// explain adds what an analyst can do about the common failures.
func explain(err error) error {
	switch {
	case errors.Is(err, windows.ERROR_ACCESS_DENIED):
		return fmt.Errorf("%w (the Security channel needs an elevated prompt or membership of Event Log Readers)", err)
	case errors.Is(err, errorEvtChannelNotFound):
		return fmt.Errorf("%w (is Sysmon installed? check the --channel names)", err)
	case errors.Is(err, errorEvtQueryResultInvalid):
		return fmt.Errorf("%w (check the query)", err)
	}
	return err
}

func (f *Feed) loadBookmark(ctx context.Context) (string, error) {
	if f.cps == nil {
		return "", nil
	}
	b, err := f.cps.LoadCheckpoint(ctx, checkpointKey(f.name))
	if err != nil {
		return "", fmt.Errorf("winevent: load checkpoint %s: %w", checkpointKey(f.name), err)
	}
	if b == nil {
		return "", nil
	}
	s, err := decodeBookmark(b)
	if err != nil {
		return "", fmt.Errorf("winevent: checkpoint %s ignored: %w", checkpointKey(f.name), err)
	}
	return s, nil
}

func (f *Feed) saveBookmark(ctx context.Context, bm evtHandle) {
	if f.cps == nil {
		return
	}
	xml, _, err := render(bm, evtRenderBookmark, make([]uint16, 1024), maxBookmark)
	if err == nil {
		err = f.cps.SaveCheckpoint(ctx, checkpointKey(f.name), []byte(xml))
	}
	if err != nil {
		f.counters.SetState(source.StateTailing, "save bookmark: "+err.Error())
	}
}
