package decode

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/vigil-soc/vigil/source"
)

func TestDumpDebug(t *testing.T) {
	path := os.Getenv("DUMP")
	if path == "" {
		t.Skip("debug only")
	}
	n, _ := strconv.Atoi(os.Getenv("DUMPN"))
	data, _ := os.ReadFile(path)
	var ev source.Event
	for i, r := range frameAll(data, DefaultMaxRecord) {
		if i != n {
			continue
		}
		err := Decode(r.Data, source.Origin{Where: path, Line: r.Line}, &ev)
		fmt.Printf("err=%v\nformat=%v env=%v kind=%v time=%v host=%q prov=%q chan=%q id=%d ver=%d rec=%d\nproc=%+v\nparent=%+v\nmsg=%.80q\n", err, ev.Format, ev.Envelope, ev.Kind, ev.Time, ev.Host, ev.Provider, ev.Channel, ev.EventID, ev.Version, ev.RecordID, ev.Process, ev.Parent, ev.Message)
		for _, f := range ev.Fields {
			fmt.Printf("  %s = %.100q\n", f.Name, f.Value)
		}
	}
}
