//go:build unix

package jsonfile

import (
	"fmt"
	"os"
	"syscall"
)

// fileIDOf returns the device and inode of an open file.
func fileIDOf(f *os.File) (fileID, error) {
	fi, err := f.Stat()
	if err != nil {
		return fileID{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, fmt.Errorf("%s: no device and inode", f.Name())
	}
	return fileID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)}, nil //nolint:unconvert // Dev/Ino types vary per OS
}

// fileIDOfInfo returns the identity of the file fi describes, without opening it.
func fileIDOfInfo(_ string, fi os.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)}, true //nolint:unconvert // Dev/Ino types vary per OS
}

// openShared opens path for reading; on Unix a reader never blocks a rename or delete.
func openShared(path string) (*os.File, error) { return os.Open(path) }
