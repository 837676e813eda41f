package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kefuhq/kefu/wxapi/wxapitest"
)

// Environment the test reads (see README.md):
//
//	KEFU_E2E_REQUIRED     set (CI): a missing node, e2e/node_modules or
//	                      cmd/kefu fails the test instead of skipping it
//	KEFU_E2E_BIN          use this kefu binary instead of building ./cmd/kefu
//	KEFU_E2E_TRANSCRIPTS  glob of transcripts, default testdata/*.txt
//	KEFU_TEST_REDIS_URL   also run everything with KEFU_REDIS_URL set to it
const (
	startTimeout  = 30 * time.Second
	stopTimeout   = 15 * time.Second
	driverTimeout = 3 * time.Minute
)

// ticketRE matches a ticket id as handoff.Store assigns them.
var ticketRE = regexp.MustCompile(`T\d{8}-\d{5,}`)

// TestDriver runs driver.js's own tests (the official vectors): they need
// node but not the kefu binary.
func TestDriver(t *testing.T) {
	node := needNode(t)
	ctx, cancel := context.WithTimeout(t.Context(), driverTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "driver.test.js")
	cmd.Env = childEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test driver.test.js: %v\n%s", err, out)
	}
}

func TestE2E(t *testing.T) {
	node := needNode(t)
	if os.Getenv("KEFU_E2E_BIN") == "" {
		if _, err := os.Stat(filepath.Join("..", "cmd", "kefu")); err != nil {
			missing(t, "./cmd/kefu does not exist yet")
		}
	}
	bin := buildKefu(t)

	pattern := os.Getenv("KEFU_E2E_TRANSCRIPTS")
	if pattern == "" {
		pattern = filepath.Join("testdata", "*.txt")
	}
	transcripts, err := filepath.Glob(pattern)
	if err != nil || len(transcripts) == 0 {
		t.Fatalf("no transcripts match %s (%v)", pattern, err)
	}

	backends := []struct{ name, redisURL string }{{name: "embedded"}}
	if u := os.Getenv("KEFU_TEST_REDIS_URL"); u != "" {
		backends = append(backends, struct{ name, redisURL string }{"redis", u})
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, mode := range []string{"plain", "aes"} {
				t.Run(mode, func(t *testing.T) {
					runMode(t, node, bin, b.redisURL, mode, transcripts)
				})
			}
		})
	}
}

// missing skips the test, or fails it when KEFU_E2E_REQUIRED is set.
func missing(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("KEFU_E2E_REQUIRED") != "" {
		t.Fatal(msg + " (KEFU_E2E_REQUIRED is set)")
	}
	t.Skip(msg + "; set KEFU_E2E_REQUIRED to make this a failure")
}

// needNode returns the node binary, checking the driver's dependencies
// are installed.
func needNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node not found")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "wechat-crypto")); err != nil {
		missing(t, "e2e/node_modules/wechat-crypto missing: run npm ci in e2e/")
	}
	return node
}

func buildKefu(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("KEFU_E2E_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not found: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "kefu")
	cmd := exec.Command(gobin, "build", "-o", bin, "./cmd/kefu")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/kefu: %v\n%s", err, out)
	}
	return bin
}

// account is one made-up official account: what the console would show.
type account struct {
	AppID, Secret, Token, AESKey, GH string
}

func newAccount() account {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return account{
		AppID:  "wx" + randHex(8),
		Secret: randHex(16),
		Token:  "e2e" + randHex(10),
		AESKey: strings.TrimSuffix(base64.StdEncoding.EncodeToString(key), "="), // 43 characters
		GH:     "gh_" + randHex(6),
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// runMode runs every transcript against a fresh kefu in one mode, then
// checks kefu tickets lists the tickets the replies announced.
// TestE2ELateReplies gives kefu a 1 ns turn budget, so every answer misses
// the passive reply and must arrive through the customer-service API of the
// fake WeChat server instead, with the webhook answering "success".
func TestE2ELateReplies(t *testing.T) {
	node := needNode(t)
	bin := buildKefu(t)
	transcripts, err := filepath.Glob(filepath.Join("testdata", "late", "*.txt"))
	if err != nil || len(transcripts) == 0 {
		t.Fatalf("no transcripts in testdata/late (%v)", err)
	}
	runMode(t, node, bin, "", "aes", transcripts, "KEFU_TURN_BUDGET=1ns")
}

func runMode(t *testing.T, node, bin, redisURL, mode string, transcripts []string, extraEnv ...string) {
	acct := newAccount()
	fake := wxapitest.NewServer()
	t.Cleanup(fake.Close)
	fake.SetCredentials(acct.AppID, acct.Secret)

	addr := freeAddr(t)
	env := serveEnv(t, addr, acct, fake.URL(), randHex(12))
	if mode == "plain" {
		// A plaintext account has no EncodingAESKey; with one set, kefu
		// refuses plaintext messages.
		env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "KEFU_WECHAT_AES_KEY=") })
	}
	env = append(env, extraEnv...)
	if redisURL != "" {
		// A prefix of its own, so the run never meets other runs' keys.
		env = append(env, "KEFU_REDIS_URL="+redisURL, "KEFU_REDIS_PREFIX=kefu-e2e:"+randHex(4)+":")
	}
	srv := startKefu(t, bin, env, "http://"+addr)

	cfg := map[string]any{
		"url":     "http://" + addr + "/wechat",
		"token":   acct.Token,
		"aesKey":  acct.AESKey,
		"appid":   acct.AppID,
		"gh":      acct.GH,
		"mode":    mode,
		"sentURL": fake.URL() + "/_sent",
		// Unique users per run, so runs sharing one Redis never meet.
		"openidSuffix": "_" + mode + "_" + randHex(3),
	}
	cfgPath := filepath.Join(t.TempDir(), "driver.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}

	tickets := map[string]string{} // ticket id announced in a reply → the user
	for _, tr := range transcripts {
		name := filepath.Base(tr)
		t.Run(strings.TrimSuffix(name, ".txt"), func(t *testing.T) {
			for _, line := range runDriver(t, node, cfgPath, tr) {
				reply, _ := line["reply"].(string)
				openID, _ := line["openid"].(string)
				for _, id := range ticketRE.FindAllString(reply, -1) {
					tickets[id] = openID
				}
			}
		})
	}
	for _, m := range fake.Sent() {
		t.Logf("customer-service message to %s: %q", m.OpenID, m.Text)
	}
	srv.stop(t)
	if t.Failed() {
		return
	}

	if slices.ContainsFunc(transcripts, func(p string) bool { return filepath.Base(p) == "handoff.txt" }) && len(tickets) == 0 {
		t.Fatal("handoff.txt ran but no reply carried a ticket number (T20060102-00001)")
	}
	// The server is stopped: kefu tickets opens the same store alone.
	var listed []listedTicket
	out := runKefu(t, bin, env, "tickets", "-json")
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatalf("kefu tickets -json: %v\n%s", err, out)
	}
	for id, openID := range tickets {
		i := slices.IndexFunc(listed, func(tk listedTicket) bool { return tk.ID == id })
		switch {
		case i < 0:
			t.Errorf("kefu tickets does not list %s:\n%s", id, out)
		case listed[i].OpenID != openID:
			t.Errorf("ticket %s belongs to %q, want %q", id, listed[i].OpenID, openID)
		case listed[i].Status != "queued" && listed[i].Status != "assigned":
			t.Errorf("ticket %s is %s, want open (queued)", id, listed[i].Status)
		}
	}
}

// listedTicket is what the test reads of kefu tickets -json.
type listedTicket struct {
	ID     string `json:"id"`
	OpenID string `json:"open_id"`
	Status string `json:"status"`
}

// runDriver runs driver.js on one transcript and returns its JSON lines.
func runDriver(t *testing.T, node, cfgPath, transcript string) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), driverTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "driver.js", "--config", cfgPath, transcript)
	cmd.Env = childEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()

	var lines []map[string]any
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		t.Log(sc.Text())
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			lines = append(lines, m)
		}
	}
	if err != nil {
		t.Fatalf("driver %s: %v\n%s", filepath.Base(transcript), err, strings.TrimSpace(stderr.String()))
	}
	return lines
}

// kefu is a running kefu serve.
type kefu struct {
	cmd    *exec.Cmd
	log    *syncBuffer
	exited chan struct{}
	err    error // Wait's result, set before exited closes
	once   sync.Once
}

func startKefu(t *testing.T, bin string, env []string, base string) *kefu {
	t.Helper()
	k := &kefu{log: &syncBuffer{}, exited: make(chan struct{})}
	k.cmd = exec.Command(bin, "serve")
	k.cmd.Env = append(childEnv(), env...)
	k.cmd.Stdout, k.cmd.Stderr = k.log, k.log
	if err := k.cmd.Start(); err != nil {
		t.Fatalf("start kefu: %v", err)
	}
	go func() {
		k.err = k.cmd.Wait()
		close(k.exited)
	}()
	t.Cleanup(func() {
		k.stop(t)
		if t.Failed() {
			t.Logf("kefu serve output:\n%s", tail(k.log.String(), 8000))
		}
	})

	// Poll /healthz: the process has no other way to say it is ready.
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(startTimeout)
	for {
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return k
			}
		}
		select {
		case <-tick.C:
		case <-k.exited:
			t.Fatalf("kefu serve exited before it was healthy: %v\n%s", k.err, tail(k.log.String(), 8000))
		case <-deadline:
			t.Fatalf("kefu serve not healthy after %v (last: %v)\n%s", startTimeout, err, tail(k.log.String(), 8000))
		}
	}
}

// stop sends SIGTERM and waits for a graceful exit, killing after
// stopTimeout. A non-zero exit after SIGTERM is reported.
func (k *kefu) stop(t *testing.T) {
	k.once.Do(func() {
		_ = k.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-k.exited:
			var ee *exec.ExitError
			if errors.As(k.err, &ee) && !ee.Exited() {
				return // ended by the signal itself: no handler, still fine
			}
			if k.err != nil {
				t.Errorf("kefu serve after SIGTERM: %v", k.err)
			}
		case <-time.After(stopTimeout):
			_ = k.cmd.Process.Kill()
			<-k.exited
			t.Errorf("kefu serve did not stop within %v of SIGTERM", stopTimeout)
		}
	})
}

// runKefu runs a one-shot kefu subcommand and returns its output.
func runKefu(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(childEnv(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kefu %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("kefu %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// childEnv is this process's environment without KEFU_* settings, so a
// developer's own configuration does not leak into the runs.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KEFU_") {
			env = append(env, kv)
		}
	}
	return env
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// syncBuffer is a bytes.Buffer safe for the child's two output streams.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
