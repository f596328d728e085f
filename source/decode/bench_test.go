package decode

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/source"
)

// benchRecords frames a testdata file into its records.
func benchRecords(b *testing.B, path string) [][]byte {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		b.Fatalf("read %s: %v", path, err)
	}
	var recs [][]byte
	for _, r := range frameAll(data, DefaultMaxRecord) {
		recs = append(recs, r.Data)
	}
	if len(recs) == 0 {
		b.Fatalf("%s: no records", path)
	}
	return recs
}

// cpuMBps reports MB per CPU second over the benchmark loop (see processCPU).
func cpuMBps(b *testing.B, start time.Duration, bytesPerOp int64) {
	b.Helper()
	if used := processCPU() - start; start != 0 && used > 0 {
		b.ReportMetric(float64(bytesPerOp)*float64(b.N)/used.Seconds()/1e6, "cpuMB/s")
	}
}

func totalBytes(recs [][]byte) int64 {
	var n int64
	for _, r := range recs {
		n += int64(len(r))
	}
	return n
}

var benchFiles = []struct{ name, path string }{
	{"ECS", "winlogbeat-ecs/sysmon/sysmon-9.01.evtx.golden.records1-7.json"},
	{"ECSIngest", "winlogbeat-ecs/sysmon/ingest/sysmon-12-processcreate.golden.json"},
	{"EVTXJSON", "sigma-regression/proc_creation_win_bitsadmin_download.json"},
	{"FlatJSON", "otrf/aptsimulator_cobaltstrike_2021-06-11T21081492.process-create.ndjson"},
	{"XML", "evtx-attack-samples/PanacheSysmon_vs_AtomicRedTeam01.process-create.xml"},
	{"XMLRendered", "winlogbeat-ecs/raw-xml/sysmon-9.01.records1-7.xml"},
	{"Wazuh", "wazuh/sysmon_eid_1.ndjson"},
	{"Snare", "snare/rsyslog-mmsnareparse-sample-windows2022-security.log"},
}

// BenchmarkDecode measures Decode per format on real records; MB/s is over record bytes.
func BenchmarkDecode(b *testing.B) {
	for _, bf := range benchFiles {
		b.Run(bf.name, func(b *testing.B) {
			recs := benchRecords(b, bf.path)
			per := totalBytes(recs) / int64(len(recs))
			b.SetBytes(per)
			b.ReportAllocs()
			var ev source.Event
			b.ResetTimer()
			cpu := processCPU()
			for i := 0; i < b.N; i++ {
				if err := Decode(recs[i%len(recs)], source.Origin{}, &ev); err != nil {
					b.Fatal(err)
				}
			}
			cpuMBps(b, cpu, per)
		})
	}
}

// BenchmarkBaselineEncodingJSON unmarshals the same JSON records into map[string]any:
// the baseline the hand-written scanner is measured against.
func BenchmarkBaselineEncodingJSON(b *testing.B) {
	for _, bf := range benchFiles {
		if bf.name == "XML" || bf.name == "XMLRendered" || bf.name == "Snare" {
			continue
		}
		b.Run(bf.name, func(b *testing.B) {
			recs := benchRecords(b, bf.path)
			per := totalBytes(recs) / int64(len(recs))
			b.SetBytes(per)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU()
			for i := 0; i < b.N; i++ {
				var m map[string]any
				if err := json.Unmarshal(recs[i%len(recs)], &m); err != nil {
					b.Fatal(err)
				}
			}
			cpuMBps(b, cpu, per)
		})
	}
}

// BenchmarkFramer measures framing a whole file written in 64 KiB chunks.
func BenchmarkFramer(b *testing.B) {
	for _, bf := range benchFiles {
		b.Run(bf.name, func(b *testing.B) {
			data, err := os.ReadFile(filepath.Join("testdata", bf.path))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			f := NewFramer(DefaultMaxRecord)
			b.ResetTimer()
			cpu := processCPU()
			defer func() { cpuMBps(b, cpu, int64(len(data))) }()
			for i := 0; i < b.N; i++ {
				f.Reset()
				for off := 0; off < len(data); off += 64 << 10 {
					f.Write(data[off:min(off+64<<10, len(data))])
					for {
						if _, ok := f.Next(); !ok {
							break
						}
					}
				}
				f.Close()
			}
		})
	}
}
