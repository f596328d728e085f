package syslog

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/vigil-soc/vigil/source"
)

// Batching bounds: a batch holds at most batchMsgs messages or about batchBytes, and a
// connection has at most inFlight batches queued for its emitter, so a connection holds
// at most about (inFlight+2) * batchBytes of messages (plus one oversize-limited message).
const (
	batchMsgs  = 64
	batchBytes = 64 << 10
	inFlight   = 4
)

// batch is a run of consecutive messages from one connection, copied out of the framer.
type batch struct {
	buf   []byte
	ends  []int
	offs  []int64
	where string
	pc    *peerCounters
	evs   []source.Event // set by a worker
	done  chan struct{}  // closed when evs is ready
	owner *batches
}

// batches is a connection's free list, so buffers are reused instead of reallocated
// per batch; it holds at most inFlight+2 batches (the emitter's, the queued ones, the
// reader's).
type batches struct {
	free  chan *batch
	where string
	pc    *peerCounters
}

func newBatches(where string, pc *peerCounters) *batches {
	return &batches{free: make(chan *batch, inFlight+2), where: where, pc: pc}
}

func (bs *batches) get() *batch {
	select {
	case b := <-bs.free:
		return b
	default:
		return &batch{where: bs.where, pc: bs.pc, owner: bs}
	}
}

// release returns b to its free list once its events are handed over.
func (b *batch) release() {
	clear(b.evs)
	b.buf, b.ends, b.offs, b.evs, b.done = b.buf[:0], b.ends[:0], b.offs[:0], b.evs[:0], nil
	select {
	case b.owner.free <- b:
	default:
	}
}

func (b *batch) add(data []byte, off int64) {
	b.buf = append(b.buf, data...)
	b.ends = append(b.ends, len(b.buf))
	b.offs = append(b.offs, off)
}

func (b *batch) full() bool { return len(b.ends) >= batchMsgs || len(b.buf) >= batchBytes }

// startWorkers starts one decode worker per CPU. The returned stop closes the job
// queue and waits; call it only after every stream has returned. Workers do not watch
// ctx: a batch handed to them is always finished, so no emitter waits forever.
func (p *pipe) startWorkers() (stop func()) {
	n := runtime.GOMAXPROCS(0)
	p.jobs = make(chan *batch, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range p.jobs {
				p.decodeBatch(b)
			}
		}()
	}
	return func() {
		close(p.jobs)
		wg.Wait()
	}
}

func (p *pipe) decodeBatch(b *batch) {
	if cap(b.evs) < len(b.ends) {
		b.evs = make([]source.Event, len(b.ends))
	}
	b.evs = b.evs[:len(b.ends)]
	n, start := 0, 0
	for i, end := range b.ends {
		origin := source.Origin{Feed: p.name, Where: b.where, Offset: b.offs[i]}
		if p.decodeOne(b.buf[start:end], origin, b.pc, &b.evs[n]) {
			n++
		} else {
			b.evs[n] = source.Event{}
		}
		start = end
	}
	b.evs = b.evs[:n]
	close(b.done)
}

// emit hands over each batch's events in order until futures is closed. Once ctx is
// done the reader stops, and what it had already read is still delivered for up to one
// queue timeout in total (so a consumer draining at shutdown loses nothing); the rest is
// counted as dropped.
func (p *pipe) emit(ctx context.Context, futures <-chan *batch, out chan<- source.Event) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	var drainBy time.Time
	for b := range futures {
		<-b.done
		for i := range b.evs {
			wait := p.queue
			if ctx.Err() != nil {
				if drainBy.IsZero() {
					drainBy = time.Now().Add(p.queue)
				}
				wait = time.Until(drainBy)
			}
			p.deliver(b.evs[i], b.pc, out, t, wait)
		}
		b.release()
	}
}
