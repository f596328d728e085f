//go:build linux

package syslog

import (
	"encoding/binary"
	"net"
	"syscall"
)

// oobSize is room for the SO_RXQ_OVFL control message.
var oobSize = syscall.CmsgSpace(4)

// enableKernelDrops asks the kernel to attach to received datagrams the number of
// datagrams this socket has dropped so far because its receive buffer was full
// (SO_RXQ_OVFL), so that loss is counted instead of silent. It reports whether the
// kernel agreed.
func enableKernelDrops(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, 1)
	}); err != nil || serr != nil {
		return false
	}
	return true
}

// kernelDrops returns the socket's cumulative drop counter from a datagram's control
// data; ok is false when the datagram carries none (the kernel adds it only once the
// counter is non-zero).
func kernelDrops(oob []byte) (n uint32, ok bool) {
	// Fast path without allocating: the only control message asked for comes first.
	// cmsghdr is {len (word-sized), level int32, type int32}, then the aligned data.
	if lenSize := syscall.SizeofCmsghdr - 8; len(oob) >= syscall.CmsgLen(4) {
		level := int32(binary.NativeEndian.Uint32(oob[lenSize:]))
		typ := int32(binary.NativeEndian.Uint32(oob[lenSize+4:]))
		if level == syscall.SOL_SOCKET && typ == syscall.SO_RXQ_OVFL {
			return binary.NativeEndian.Uint32(oob[syscall.CmsgLen(0):]), true
		}
	}
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SO_RXQ_OVFL && len(m.Data) >= 4 {
			return binary.NativeEndian.Uint32(m.Data), true
		}
	}
	return 0, false
}
