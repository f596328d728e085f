//go:build !linux

package syslog

import "net"

// oobSize is zero: only Linux reports a socket's drops.
var oobSize = 0

// enableKernelDrops is unsupported off Linux: kernel drops stay invisible.
func enableKernelDrops(*net.UDPConn) bool { return false }

func kernelDrops([]byte) (uint32, bool) { return 0, false }
