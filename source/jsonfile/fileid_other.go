//go:build !unix && !windows

package jsonfile

import (
	"errors"
	"os"
)

// fileIDOf is unavailable here: checkpoints are not saved, positions are not resumed.
func fileIDOf(*os.File) (fileID, error) {
	return fileID{}, errors.New("file identity is not available on this system")
}

// fileIDOfInfo is unavailable here: rotated files are recognized by name and head only.
func fileIDOfInfo(string, os.FileInfo) (fileID, bool) { return fileID{}, false }

// openShared opens path for reading.
func openShared(path string) (*os.File, error) { return os.Open(path) }
