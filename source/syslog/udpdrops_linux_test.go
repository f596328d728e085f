//go:build linux

package syslog

import (
	"encoding/binary"
	"syscall"
	"testing"
)

func TestKernelDropsParse(t *testing.T) {
	oob := make([]byte, syscall.CmsgSpace(4))
	lenSize := syscall.SizeofCmsghdr - 8
	if lenSize == 8 {
		binary.NativeEndian.PutUint64(oob, uint64(syscall.CmsgLen(4)))
	} else {
		binary.NativeEndian.PutUint32(oob, uint32(syscall.CmsgLen(4)))
	}
	binary.NativeEndian.PutUint32(oob[lenSize:], syscall.SOL_SOCKET)
	binary.NativeEndian.PutUint32(oob[lenSize+4:], syscall.SO_RXQ_OVFL)
	binary.NativeEndian.PutUint32(oob[syscall.CmsgLen(0):], 4242)
	if n, ok := kernelDrops(oob); !ok || n != 4242 {
		t.Fatalf("kernelDrops = %d, %v; want 4242", n, ok)
	}
	if _, ok := kernelDrops(oob[:3]); ok {
		t.Fatal("a truncated control message was parsed")
	}
	binary.NativeEndian.PutUint32(oob[lenSize+4:], syscall.SO_TIMESTAMP)
	if _, ok := kernelDrops(oob); ok {
		t.Fatal("another control message was taken for the drop counter")
	}
}
