//go:build !race

package jsonfile

const raceEnabled = false
