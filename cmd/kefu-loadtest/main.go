// Command kefu-loadtest drives a kefu webhook the way the WeChat platform
// does: many simulated users, each sending signed (and, in aes mode,
// encrypted) text messages one after another, and it reports throughput
// and latency.
//
// With -floor it starts, in-process, a floor server that does only the
// unavoidable work (check the signature, decrypt, parse the XML, return a
// fixed reply) with the same bot/wechat functions, so a run against the
// real server can be compared with the fastest possible one on the same
// machine.
//
// The last line on stdout is always
//
//	throughput=N/s p50_ms=A p99_ms=B max_ms=C errors=E
//
// where errors counts failed or invalid responses over the whole run,
// warm-up included; the other figures cover the measured window only.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kefu-loadtest:", err)
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	url      string
	token    string
	aesKey   string
	appID    string
	account  string
	mode     string
	users    int
	duration time.Duration
	warmup   time.Duration
	floor    bool
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("kefu-loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:8080/wechat", "webhook URL (loopback only)")
	fs.StringVar(&cfg.token, "token", "", "server-config Token (default: a fixed test token with -floor)")
	fs.StringVar(&cfg.aesKey, "aes-key", "", "EncodingAESKey, 43 characters (aes mode; default: random with -floor)")
	fs.StringVar(&cfg.appID, "appid", "", "AppID (aes mode; default: a test AppID with -floor)")
	fs.StringVar(&cfg.account, "account", "gh_kefuloadtest", "the account's original ID (ToUserName)")
	fs.StringVar(&cfg.mode, "mode", "plain", "message encryption: plain or aes")
	fs.IntVar(&cfg.users, "users", 200, "concurrent simulated users")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured duration")
	fs.DurationVar(&cfg.warmup, "warmup", time.Second, "warm-up before measuring (not in the figures)")
	fs.BoolVar(&cfg.floor, "floor", false, "start an in-process floor server on 127.0.0.1 and drive it instead of -url")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	switch {
	case cfg.mode != "plain" && cfg.mode != "aes":
		return cfg, fmt.Errorf("-mode must be plain or aes, not %q", cfg.mode)
	case cfg.users < 1 || cfg.users > 10000:
		return cfg, errors.New("-users must be between 1 and 10000")
	case cfg.duration <= 0 || cfg.duration > time.Hour:
		return cfg, errors.New("-duration must be positive and at most 1h")
	case cfg.warmup < 0:
		return cfg, errors.New("-warmup must not be negative")
	}
	if cfg.floor {
		if cfg.token == "" {
			cfg.token = "kefu-loadtest"
		}
		if cfg.appID == "" {
			cfg.appID = "wxkefuloadtest0001"
		}
		if cfg.aesKey == "" {
			var raw [32]byte
			_, _ = rand.Read(raw[:])
			cfg.aesKey = strings.TrimSuffix(base64.StdEncoding.EncodeToString(raw[:]), "=")
		}
		return cfg, nil
	}
	if cfg.token == "" {
		return cfg, errors.New("-token is required")
	}
	if cfg.mode == "aes" && (cfg.aesKey == "" || cfg.appID == "") {
		return cfg, errors.New("aes mode needs -aes-key and -appid")
	}
	return cfg, checkLoopback(cfg.url)
}

// checkLoopback refuses targets other than this machine: a load generator
// must not be pointed at someone else's server by accident.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("-url: scheme must be http or https, not %q", u.Scheme)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-url: %q is not a loopback address; kefu-loadtest only drives local servers", host)
}

// run is the whole command, callable from tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	target := cfg.url
	if cfg.floor {
		fl, err := startFloor(cfg)
		if err != nil {
			return err
		}
		defer fl.Close()
		target = fl.URL
		fmt.Fprintf(stderr, "floor server on %s\n", target)
	}
	gen, err := newGenerator(cfg, target, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "driving %s: mode=%s users=%d warmup=%s duration=%s\n", target, cfg.mode, cfg.users, cfg.warmup, cfg.duration)
	res := gen.run(ctx)
	kind := "url"
	if cfg.floor {
		kind = "floor"
	}
	fmt.Fprintf(stdout, "target=%s mode=%s users=%d requests=%d measured=%d window=%s\n",
		kind, cfg.mode, cfg.users, res.total, len(res.latencies), res.window.Round(time.Millisecond))
	if !cfg.floor { // the floor's reply is fixed: it never hands off
		fmt.Fprintln(stdout, res.byClass())
	}
	fmt.Fprintln(stdout, res.summary())
	return nil
}
