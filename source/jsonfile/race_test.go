//go:build race

package jsonfile

const raceEnabled = true
