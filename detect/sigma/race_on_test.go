//go:build race

package sigma

// raceEnabled: sync.Pool drops items at random under -race, so allocation counts are
// only asserted in normal runs.
const raceEnabled = true
