package main

import (
	"flag"
	"fmt"
	"runtime/debug"
)

// version is set at release time with -ldflags "-X main.version=v1.2.3".
var version = ""

// resolvedVersion falls back to the module version Go stamped into the binary.
func resolvedVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func runVersionCmd(args []string, io stdio) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(io.err)
	legal := fs.Bool("legal", false, "print the notices of the third-party data vigil embeds")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	fmt.Fprintf(io.out, "vigil %s\n", resolvedVersion())
	if *legal {
		fmt.Fprint(io.out, legalNotice())
	}
	return exitOK
}
