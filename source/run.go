package source

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
)

// RunAll runs every feed's Run in its own goroutine and waits for all of them. It owns
// the sending side of out: out is closed once every feed has returned, so the receiver
// can drain it and know the feeds are done. A feed that panics is recovered into an
// error naming the feed. The returned error joins the feeds' errors (errors.Join),
// leaving out context cancellation, which is how feeds are asked to stop.
func RunAll(ctx context.Context, feeds []Feed, out chan<- Event) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, f := range feeds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := runOne(ctx, f, out); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(out)
	return errors.Join(errs...)
}

// runOne runs one feed, turning a panic into an error and dropping cancellation.
func runOne(ctx context.Context, f Feed, out chan<- Event) (err error) {
	name := "feed"
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: panic: %v\n%s", name, r, debug.Stack())
		}
	}()
	if f == nil {
		return errors.New("feed: nil feed")
	}
	name = f.Name()
	err = f.Run(ctx, out)
	// Cancellation is the normal way to stop; a feed's own timeout while ctx is live is not.
	if err == nil || errors.Is(err, context.Canceled) || (ctx.Err() != nil && errors.Is(err, ctx.Err())) {
		return nil
	}
	return fmt.Errorf("%s: %w", name, err)
}
