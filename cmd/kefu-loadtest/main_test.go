package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/bot/wechat"
)

var lastLine = regexp.MustCompile(`^throughput=(\d+)/s p50_ms=(\d+\.\d{2}) p99_ms=(\d+\.\d{2}) max_ms=(\d+\.\d{2}) errors=(\d+)$`)

// figures are the numbers of the last stdout line.
type figures struct {
	throughput, errors int
	p50, p99, max      float64
}

// mustRun runs the command and parses its last stdout line.
func mustRun(t *testing.T, args ...string) figures {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("run %v: %v\n%s", args, err, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	m := lastLine.FindStringSubmatch(lines[len(lines)-1])
	if m == nil {
		t.Fatalf("last stdout line %q does not match %s", lines[len(lines)-1], lastLine)
	}
	var f figures
	f.throughput, _ = strconv.Atoi(m[1])
	f.p50, _ = strconv.ParseFloat(m[2], 64)
	f.p99, _ = strconv.ParseFloat(m[3], 64)
	f.max, _ = strconv.ParseFloat(m[4], 64)
	f.errors, _ = strconv.Atoi(m[5])
	if f.p50 > f.p99 || f.p99 > f.max {
		t.Errorf("percentiles out of order: %+v", f)
	}
	t.Logf("%s\nstderr:\n%s", stdout.String(), stderr.String())
	return f
}

func TestFloor(t *testing.T) {
	for _, mode := range []string{"plain", "aes"} {
		t.Run(mode, func(t *testing.T) {
			f := mustRun(t, "-floor", "-mode", mode, "-users", "20", "-warmup", "200ms", "-duration", "1s")
			if f.errors != 0 || f.throughput <= 0 {
				t.Fatalf("figures %+v: want no errors and some throughput", f)
			}
		})
	}
}

// TestWebhook drives the real Gin webhook, with the strict checks (reply
// addressed to the sender, nonce echoed) that the fixed floor reply skips.
func TestWebhook(t *testing.T) {
	const (
		token = "loadtest-token"
		appID = "wxloadtest000001"
		key   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	)
	gin.SetMode(gin.TestMode)
	for _, mode := range []string{"plain", "aes"} {
		t.Run(mode, func(t *testing.T) {
			opts := wechat.Options{Token: token, Logger: slog.New(slog.DiscardHandler)}
			if mode == "aes" {
				opts.AppID, opts.AESKeys = appID, []string{key}
			}
			h, err := wechat.NewHandler(opts, wechat.ResponderFunc(func(_ context.Context, in bot.Inbound) bot.Reply {
				if strings.Contains(in.Text, "人工") {
					return bot.Reply{} // "success": the answer comes later
				}
				return bot.Reply{Text: "收到：" + in.Text}
			}))
			if err != nil {
				t.Fatal(err)
			}
			e := gin.New()
			h.Register(e)
			srv := httptest.NewServer(e)
			defer srv.Close()
			f := mustRun(t, "-url", srv.URL+"/wechat", "-token", token, "-aes-key", key, "-appid", appID,
				"-mode", mode, "-users", "10", "-warmup", "100ms", "-duration", "700ms")
			if f.errors != 0 || f.throughput <= 0 {
				t.Fatalf("figures %+v: want no errors and some throughput", f)
			}
		})
	}
}

// TestErrorsCounted checks that bad answers are counted as errors.
func TestErrorsCounted(t *testing.T) {
	tests := []struct {
		name    string
		mode    string
		handler http.HandlerFunc
	}{
		{"Status500", "plain", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", 500) }},
		{"NotXML", "plain", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"ok":true}`)) }},
		{"PlainReplyInAESMode", "aes", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write(wechat.TextReply("u", "gh", time.Now(), "hi"))
		}},
		{"WrongAddressee", "plain", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write(wechat.TextReply("someone-else", "gh_kefuloadtest", time.Now(), "hi"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			f := mustRun(t, "-url", srv.URL, "-token", "t", "-aes-key", strings.Repeat("A", 43), "-appid", "wx1",
				"-mode", tt.mode, "-users", "2", "-warmup", "0s", "-duration", "200ms")
			if f.errors == 0 || f.throughput != 0 {
				t.Fatalf("figures %+v: want errors and no successful throughput", f)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		ok   bool
	}{
		{"OKLoopback", []string{"-token", "t", "-url", "http://127.0.0.1:1/wechat"}, true},
		{"OKLocalhost", []string{"-token", "t", "-url", "http://localhost:8080/wechat"}, true},
		{"OKIPv6Loopback", []string{"-token", "t", "-url", "http://[::1]:8080/wechat"}, true},
		{"OKFloorDefaults", []string{"-floor", "-mode", "aes"}, true},
		{"ErrRemote", []string{"-token", "t", "-url", "http://example.com/wechat"}, false},
		{"ErrPrivateIP", []string{"-token", "t", "-url", "http://10.0.0.1/wechat"}, false},
		{"ErrNoToken", []string{"-url", "http://127.0.0.1/wechat"}, false},
		{"ErrAESWithoutKey", []string{"-token", "t", "-mode", "aes"}, false},
		{"ErrMode", []string{"-token", "t", "-mode", "rot13"}, false},
		{"ErrUsers", []string{"-token", "t", "-users", "0"}, false},
		{"ErrDuration", []string{"-token", "t", "-duration", "0s"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFlags(tt.args, &bytes.Buffer{})
			if (err == nil) != tt.ok {
				t.Fatalf("parseFlags(%v) = %v, want ok=%v", tt.args, err, tt.ok)
			}
		})
	}
}

func TestRank(t *testing.T) {
	tests := []struct {
		n    int
		q    float64
		want int
	}{
		{1, 0.5, 0}, {1, 0.99, 0}, {2, 0.5, 0}, {100, 0.5, 49}, {100, 0.99, 98}, {1000, 0.99, 989}, {3, 0.99, 2},
	}
	for _, tt := range tests {
		if got := rank(tt.n, tt.q); got != tt.want {
			t.Errorf("rank(%d, %v) = %d, want %d", tt.n, tt.q, got, tt.want)
		}
	}
}

func TestByClass(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var r result
	for i := 1; i <= 100; i++ { // questions of 1..100 ms, one handoff of 7 ms
		r.latencies, r.classes = append(r.latencies, ms(i)), append(r.classes, classQuestion)
	}
	r.latencies, r.classes = append(r.latencies, ms(7)), append(r.classes, classHandoff)
	want := "class=question n=100 p50_ms=50.00 p99_ms=99.00 | class=handoff n=1 p50_ms=7.00 p99_ms=7.00"
	if got := r.byClass(); got != want {
		t.Errorf("byClass() = %q, want %q", got, want)
	}
	if (result{}).byClass() != "" {
		t.Error("byClass of no requests is not empty")
	}
}

func TestHandedOff(t *testing.T) {
	tests := []struct {
		reply string
		want  bool
	}{
		{"已为您转接人工客服（普通通道），工单号 T20261126-00001。当前排队第 1 位", true},
		{"You've been passed to a person (normal lane), ticket T20261126-00002. You are number 3", true},
		{"提交工单或使用自助工具后,您会收到一个工单号或案件查询编码,凭编号就可以查询进度。", false}, // an answer
		{"If you are outside mainland China, please submit a ticket at wechat.com", false},
	}
	for _, tt := range tests {
		if got := handedOff(tt.reply); got != tt.want {
			t.Errorf("handedOff(%q) = %v, want %v", tt.reply, got, tt.want)
		}
	}
}
