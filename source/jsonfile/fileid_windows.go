//go:build windows

package jsonfile

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// fileIDOf returns the volume serial number and file index of an open file.
func fileIDOf(f *os.File) (fileID, error) {
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(windows.Handle(f.Fd()), &info); err != nil {
		return fileID{}, fmt.Errorf("%s: file identity: %w", f.Name(), err)
	}
	return fileID{
		Dev: uint64(info.VolumeSerialNumber),
		Ino: uint64(info.FileIndexHigh)<<32 | uint64(info.FileIndexLow),
	}, nil
}

// fileIDOfInfo returns the identity of the file at path (Windows needs a handle).
func fileIDOfInfo(path string, _ os.FileInfo) (fileID, bool) {
	f, err := os.Open(path)
	if err != nil {
		return fileID{}, false
	}
	defer f.Close()
	id, err := fileIDOf(f)
	return id, err == nil
}
