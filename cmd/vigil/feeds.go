package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/source/jsonfile"
	"github.com/vigil-soc/vigil/source/syslog"
	"github.com/vigil-soc/vigil/source/winevent"
)

// sourceFlags are the flags that attach vigil to feeds, shared by the TUI and hunt.
type sourceFlags struct {
	files       flagList
	fromStart   bool
	listen      flagList
	tlsCert     string
	tlsKey      string
	tlsClientCA string
	connect     flagList
	tlsCA       string
	winlog      bool
	channels    flagList
	maxRecord   int
	maxMessage  int
	maxConns    int
	idleTimeout time.Duration
}

// flagList is a repeatable string flag.
type flagList []string

func (l *flagList) String() string     { return strings.Join(*l, ",") }
func (l *flagList) Set(v string) error { *l = append(*l, v); return nil }

// register adds the source flags to fs.
func (f *sourceFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.files, "file", "watch `PATH`: JSON, XML or syslog lines; globs pick up new files; - is stdin (repeatable)")
	fs.BoolVar(&f.fromStart, "from-start", false, "read what --file files already hold (default: only what is appended; a saved position wins)")
	fs.Var(&f.listen, "listen", "receive syslog on `URL`: udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT (repeatable)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate `FILE` for tls:// listeners (and the client certificate for --connect tls:// if the relay asks)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "PEM private key `FILE` for --tls-cert")
	fs.StringVar(&f.tlsClientCA, "tls-client-ca", "", "PEM CA `FILE`: tls:// listeners require client certificates it signed")
	fs.Var(&f.connect, "connect", "dial a relay serving the stream at `URL`: tcp://HOST:PORT or tls://HOST:PORT (repeatable)")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "PEM CA `FILE` that verifies the --connect tls:// relay (default: system roots)")
	fs.BoolVar(&f.winlog, "winlog", false, "subscribe to the local Windows event log (Sysmon 1/5, Security 4688/4689)")
	fs.Var(&f.channels, "channel", "with --winlog, also subscribe to every event of channel `NAME` (repeatable)")
	fs.IntVar(&f.maxRecord, "max-record", 0, "largest record read from a file or the event log, in `BYTES` (default 1 MiB); longer ones are skipped and counted")
	fs.IntVar(&f.maxMessage, "max-message", 0, "largest syslog message, in `BYTES` (default 64 KiB); longer ones are skipped and counted")
	fs.IntVar(&f.maxConns, "max-conns", 0, "most concurrent tcp:// and tls:// senders per listener (default 256)")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", 0, "close a silent syslog connection (or redial a silent relay) after `DURATION` (default 5m)")
}

// any reports whether a source flag names a feed.
func (f *sourceFlags) any() bool {
	return len(f.files) > 0 || len(f.listen) > 0 || len(f.connect) > 0 || f.winlog
}

// flagError is a source flag the feeds cannot be built from; it names the flag.
type flagError struct {
	flag  string // "--listen"
	value string // the flag's value, if it has one
	err   error
}

func (e *flagError) Error() string {
	msg := e.err.Error()
	if strings.HasPrefix(msg, e.flag) {
		return msg
	}
	if e.value != "" {
		return e.flag + " " + e.value + ": " + msg
	}
	return e.flag + ": " + msg
}

func (e *flagError) Unwrap() error { return e.err }

func flagErr(flag, value string, err error) error { return &flagError{flag, value, err} }

// feeds builds the feeds the flags ask for: one per --file, --listen and --connect, and
// one for --winlog. cp keeps file positions and event-log bookmarks (nil: none). Every
// error names the flag and is bad usage or bad input (exit 2), --winlog off Windows
// included (errors.Is(err, winevent.ErrUnsupported)).
func (f *sourceFlags) feeds(cp source.Checkpointer) ([]source.Feed, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	var feeds []source.Feed
	stdin := false
	for _, p := range f.files {
		if p == "-" {
			if stdin {
				return nil, flagErr("--file", p, errors.New("stdin given twice"))
			}
			stdin = true
		}
		jf, err := jsonfile.New(jsonfile.Config{
			Patterns: []string{p}, FromStart: f.fromStart, MaxRecord: f.maxRecord, Checkpoints: cp,
		})
		if err != nil {
			return nil, flagErr("--file", p, err)
		}
		feeds = append(feeds, jf)
	}
	for _, u := range f.listen {
		scheme, err := urlScheme(u, "udp", "tcp", "tls")
		if err != nil {
			return nil, flagErr("--listen", u, err)
		}
		if scheme == "tls" && (f.tlsCert == "" || f.tlsKey == "") {
			return nil, flagErr("--listen", u, errors.New("tls:// needs --tls-cert and --tls-key"))
		}
		cfg := syslog.ListenConfig{
			URL: u, MaxMessage: f.maxMessage, MaxConns: f.maxConns, IdleTimeout: f.idleTimeout,
		}
		if scheme == "tls" {
			cfg.TLSCert, cfg.TLSKey, cfg.TLSClientCA = f.tlsCert, f.tlsKey, f.tlsClientCA
		}
		l, err := syslog.NewListener(cfg)
		if err != nil {
			return nil, flagErr("--listen", u, err)
		}
		// Bind now, so "address in use" or a bad certificate is a usage error before
		// anything starts, not a runtime failure found later by RunAll.
		if err := l.Bind(); err != nil {
			return nil, flagErr("--listen", u, err)
		}
		feeds = append(feeds, l)
	}
	for _, u := range f.connect {
		scheme, err := urlScheme(u, "tcp", "tls")
		if err != nil {
			return nil, flagErr("--connect", u, err)
		}
		cfg := syslog.DialConfig{URL: u, MaxMessage: f.maxMessage, IdleTimeout: f.idleTimeout}
		if scheme == "tls" {
			cfg.TLSCA = f.tlsCA
			if !f.anyListen("tls") { // otherwise --tls-cert is the listener's server certificate
				cfg.TLSCert, cfg.TLSKey = f.tlsCert, f.tlsKey
			}
		}
		d, err := syslog.NewDialer(cfg)
		if err != nil {
			return nil, flagErr("--connect", u, err)
		}
		feeds = append(feeds, d)
	}
	if f.winlog {
		w, err := winevent.New(winevent.Config{Channels: f.channels, Checkpoints: cp, MaxRecord: f.maxRecord})
		if err != nil {
			return nil, flagErr("--winlog", "", err)
		}
		feeds = append(feeds, w)
	}
	return feeds, nil
}

// check refuses flag combinations that would be silently ignored.
func (f *sourceFlags) check() error {
	switch {
	case f.maxRecord < 0:
		return flagErr("--max-record", fmt.Sprint(f.maxRecord), errors.New("must not be negative"))
	case f.maxMessage < 0:
		return flagErr("--max-message", fmt.Sprint(f.maxMessage), errors.New("must not be negative"))
	case f.maxConns < 0:
		return flagErr("--max-conns", fmt.Sprint(f.maxConns), errors.New("must not be negative"))
	case f.idleTimeout < 0:
		return flagErr("--idle-timeout", f.idleTimeout.String(), errors.New("must not be negative"))
	case f.maxRecord != 0 && len(f.files) == 0 && !f.winlog:
		return flagErr("--max-record", fmt.Sprint(f.maxRecord), errors.New("applies to --file and --winlog only"))
	case f.fromStart && len(f.files) == 0:
		return flagErr("--from-start", "", errors.New("applies to --file only"))
	case len(f.channels) > 0 && !f.winlog:
		return flagErr("--channel", f.channels[0], errors.New("needs --winlog"))
	case f.tlsClientCA != "" && !f.anyListen("tls"):
		return flagErr("--tls-client-ca", f.tlsClientCA, errors.New("applies to --listen tls:// only"))
	case f.tlsCA != "" && !f.anyConnect("tls"):
		return flagErr("--tls-ca", f.tlsCA, errors.New("applies to --connect tls:// only"))
	case f.tlsCert != "" && !f.anyListen("tls") && !f.anyConnect("tls"):
		return flagErr("--tls-cert", f.tlsCert, errors.New("applies to --listen tls:// or --connect tls:// only"))
	case f.tlsKey != "" && !f.anyListen("tls") && !f.anyConnect("tls"):
		return flagErr("--tls-key", f.tlsKey, errors.New("applies to --listen tls:// or --connect tls:// only"))
	case f.tlsCert != "" && f.tlsKey == "":
		return flagErr("--tls-cert", f.tlsCert, errors.New("needs --tls-key too"))
	case f.tlsCert == "" && f.tlsKey != "":
		return flagErr("--tls-key", f.tlsKey, errors.New("needs --tls-cert too"))
	case (f.maxConns != 0) && len(f.listen) == 0:
		return flagErr("--max-conns", fmt.Sprint(f.maxConns), errors.New("applies to --listen only"))
	case f.maxMessage != 0 && len(f.listen) == 0 && len(f.connect) == 0:
		return flagErr("--max-message", fmt.Sprint(f.maxMessage), errors.New("applies to --listen and --connect only"))
	case f.idleTimeout != 0 && len(f.listen) == 0 && len(f.connect) == 0:
		return flagErr("--idle-timeout", f.idleTimeout.String(), errors.New("applies to --listen and --connect only"))
	}
	return nil
}

func (f *sourceFlags) anyListen(scheme string) bool  { return anyScheme(f.listen, scheme) }
func (f *sourceFlags) anyConnect(scheme string) bool { return anyScheme(f.connect, scheme) }

func anyScheme(urls []string, scheme string) bool {
	for _, u := range urls {
		if s, _, ok := strings.Cut(u, "://"); ok && strings.EqualFold(s, scheme) {
			return true
		}
	}
	return false
}

// urlScheme returns u's scheme if it is one of allowed, else an error listing them.
func urlScheme(u string, allowed ...string) (string, error) {
	want := strings.Join(allowed, "://, ") + "://"
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" || p.Host == "" {
		return "", fmt.Errorf("want a URL such as %s://0.0.0.0:1514 (scheme %s)", allowed[len(allowed)-1], want)
	}
	for _, a := range allowed {
		if p.Scheme == a {
			return a, nil
		}
	}
	return "", fmt.Errorf("scheme %s:// is not one of %s", p.Scheme, want)
}
