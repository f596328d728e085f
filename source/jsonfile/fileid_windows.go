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
	f, err := openShared(path)
	if err != nil {
		return fileID{}, false
	}
	defer f.Close()
	id, err := fileIDOf(f)
	return id, err == nil
}

// openShared opens path for reading with FILE_SHARE_DELETE as well as read and write
// sharing: os.Open leaves it out, and a writer could then not rename or delete the log
// while vigil holds it, which would break its rotation.
func openShared(path string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		if err == windows.ERROR_FILE_NOT_FOUND || err == windows.ERROR_PATH_NOT_FOUND {
			err = os.ErrNotExist
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}
