package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kefuhq/kefu/bot/wechat"
	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/internal/redistest"
)

// TestLiveEvents checks that a user's message through the webhook of one
// instance that opens a ticket reaches an agent's live-event stream on
// another within a second, and logs the latency, webhook request to SSE
// event, p50 and p99: one instance on the embedded store, two on one
// Redis.
func TestLiveEvents(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		a := startWatching(t, []string{"KEFU_DATA_DIR=" + t.TempDir()})
		checkLiveEvents(t, a, a)
	})
	t.Run("redis", func(t *testing.T) {
		env := sharedEnv(t)
		checkLiveEvents(t, startWatching(t, env), startWatching(t, env))
	})
}

// sharedEnv returns the environment of instances that share the Redis of
// KEFU_TEST_REDIS_URL under a key prefix of their own, skipping the test
// when it is not set.
func sharedEnv(t *testing.T) []string {
	t.Helper()
	if os.Getenv(redistest.EnvURL) == "" {
		t.Skip(redistest.EnvURL + " not set")
	}
	_, prefix := redistest.Client(t)
	return []string{"KEFU_DATA_DIR=" + t.TempDir(), "KEFU_REDIS_URL=" + os.Getenv(redistest.EnvURL), "KEFU_REDIS_PREFIX=" + prefix}
}

// serveApp serves a's routes on a real HTTP server until the test ends.
func serveApp(t *testing.T, a *app) *httptest.Server {
	t.Helper()
	h, err := a.routes()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	live := a.live
	t.Cleanup(func() { live.Shutdown(); srv.Close() })
	return srv
}

// liveStream opens GET /api/v1/events on srv, b's routes, as the admin
// and returns the events it receives.
func liveStream(t *testing.T, b *app, srv *httptest.Server) <-chan handoff.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	const pw = "live-events-admin"
	if _, err := b.auth.EnsureAdmin(ctx, pw); err != nil {
		t.Fatal(err)
	}
	in, err := b.auth.Login(ctx, "admin", pw, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+in.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/events: %s", resp.Status)
	}
	out := make(chan handoff.Event, 16)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			var ev handoff.Event
			if ok && json.Unmarshal([]byte(data), &ev) == nil {
				out <- ev
			}
		}
	}()
	return out
}

// sendWebhook posts a signed plaintext text message from the user to
// srv's /wechat, as the WeChat platform does.
func sendWebhook(t *testing.T, srv *httptest.Server, openID, text string, msgID int) {
	t.Helper()
	now := time.Now().Unix()
	xml := fmt.Sprintf("<xml><ToUserName><![CDATA[gh_live]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>"+
		"<CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>%d</MsgId></xml>",
		openID, now, text, msgID)
	ts, nonce := strconv.FormatInt(now, 10), strconv.Itoa(msgID)
	v := url.Values{"timestamp": {ts}, "nonce": {nonce}, "openid": {openID}, "signature": {wechat.Signature(defaultToken, ts, nonce)}}
	resp, err := http.Post(srv.URL+"/wechat?"+v.Encode(), "text/xml", strings.NewReader(xml))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /wechat: %s", resp.Status)
	}
}

func checkLiveEvents(t *testing.T, a, b *app) {
	t.Helper()
	srvA := serveApp(t, a)
	srvB := srvA
	if b != a {
		srvB = serveApp(t, b)
	}
	events := liveStream(t, b, srvB)
	const n = 200
	var lat []time.Duration
	for i := range n {
		openID := fmt.Sprintf("o_live_%03d", i)
		start := time.Now()
		sendWebhook(t, srvA, openID, "转人工", 1000+i)
		for {
			var ev handoff.Event
			select {
			case e, ok := <-events:
				if !ok {
					t.Fatal("stream ended")
				}
				ev = e
			case <-time.After(time.Second):
				t.Fatalf("message %d: no ticket_created within 1 s", i)
			}
			if ev.Type == handoff.EventTicketCreated && ev.OpenID == openID {
				lat = append(lat, time.Since(start))
				break
			}
		}
	}
	slices.Sort(lat)
	p50, p99 := lat[n/2], lat[n*99/100]
	t.Logf("webhook message → SSE ticket_created over %d messages: p50 %v, p99 %v, max %v", n, p50, p99, lat[n-1])
	if p99 > time.Second {
		t.Errorf("p99 %v, want under 1 s (target 100 ms)", p99)
	}
}
