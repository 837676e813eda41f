package wxapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefuhq/kefu/wxapi"
	"github.com/kefuhq/kefu/wxapi/wxapitest"
)

// harness is a Client wired to a fresh fake, with every request recorded
// and backoff waits recorded instead of slept.
type harness struct {
	fake   *wxapitest.Server
	cache  *wxapitest.TokenCache
	client *wxapi.Client
	rec    *recorder
	sleeps *sleeps
	logs   *bytes.Buffer
}

func newHarness(t *testing.T, mutate ...func(*wxapi.Options)) *harness {
	t.Helper()
	fake := wxapitest.NewServer()
	t.Cleanup(fake.Close)
	h := &harness{
		fake:   fake,
		cache:  &wxapitest.TokenCache{},
		rec:    &recorder{next: http.DefaultTransport},
		sleeps: &sleeps{},
		logs:   &bytes.Buffer{},
	}
	opts := wxapi.Options{
		BaseURL:    fake.URL(),
		AppID:      wxapitest.AppID,
		AppSecret:  wxapitest.AppSecret,
		HTTPClient: &http.Client{Transport: h.rec, Timeout: 5 * time.Second},
		Tokens:     h.cache,
		Logger:     slog.New(slog.NewTextHandler(&lockedWriter{w: h.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Sleep:      h.sleeps.sleep,
	}
	for _, m := range mutate {
		m(&opts)
	}
	c, err := wxapi.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.client = c
	return h
}

func (h *harness) mustSend(t *testing.T, openID, text string) {
	t.Helper()
	if err := h.client.SendText(t.Context(), openID, text); err != nil {
		t.Fatalf("SendText: %v", err)
	}
}

type recorded struct {
	Method, Path, Body string
}

// recorder is an http.RoundTripper that remembers every request.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []recorded
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.Path, string(body)})
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recorder) paths() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, q := range r.reqs {
		out = append(out, q.Method+" "+q.Path)
	}
	return out
}

func (r *recorder) bodies(path string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, q := range r.reqs {
		if q.Path == path {
			out = append(out, q.Body)
		}
	}
	return out
}

type sleeps struct {
	mu sync.Mutex
	ds []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.ds = append(s.ds, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.ds...)
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestSendText(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		h := newHarness(t)
		text := "您好，工单 T20261125-00042 已受理 <b>&amp;</b>"
		h.mustSend(t, "o_user1", text)

		sent := h.fake.Sent()
		if len(sent) != 1 || sent[0].OpenID != "o_user1" || sent[0].Text != text || sent[0].MsgType != "text" {
			t.Fatalf("sent = %+v", sent)
		}
		bodies := h.rec.bodies("/cgi-bin/message/custom/send")
		want := `{"touser":"o_user1","msgtype":"text","text":{"content":"` + text + `"}}` + "\n"
		if len(bodies) != 1 || bodies[0] != want {
			t.Fatalf("body = %q, want %q (no HTML escaping)", bodies, want)
		}
		if got := h.fake.TokenFetches(); got != 1 {
			t.Fatalf("token fetches = %d, want 1", got)
		}
	})

	t.Run("ErrEmpty", func(t *testing.T) {
		h := newHarness(t)
		if err := h.client.SendText(t.Context(), "", "x"); err == nil {
			t.Fatal("empty openid: no error")
		}
		if err := h.client.SendText(t.Context(), "o", ""); err == nil {
			t.Fatal("empty text: no error")
		}
		if n := len(h.rec.paths()); n != 0 {
			t.Fatalf("%d requests for invalid arguments", n)
		}
	})
}

func TestTokenCached(t *testing.T) {
	h := newHarness(t)
	for range 5 {
		h.mustSend(t, "o_user1", "一")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() { errs <- h.client.SendText(t.Context(), "o_user2", "二") })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := h.fake.TokenFetches(); got != 1 {
		t.Fatalf("token fetches = %d, want 1", got)
	}
	if got := len(h.fake.Sent()); got != 25 {
		t.Fatalf("sent %d, want 25", got)
	}
}

func TestAccessTokenConcurrentFetchOnce(t *testing.T) {
	h := newHarness(t)
	h.fake.SetDelay(50 * time.Millisecond) // keep the first fetch in flight while the others arrive
	var wg sync.WaitGroup
	toks := make(chan string, 10)
	for range 10 {
		wg.Go(func() {
			tok, err := h.client.AccessToken(t.Context())
			if err != nil {
				t.Error(err)
			}
			toks <- tok
		})
	}
	wg.Wait()
	close(toks)
	first := ""
	for tok := range toks {
		if first == "" {
			first = tok
		}
		if tok == "" || tok != first {
			t.Fatalf("callers got different tokens: %q, %q", first, tok)
		}
	}
	if got := h.fake.TokenFetches(); got != 1 {
		t.Fatalf("token fetches = %d, want 1", got)
	}
}

func TestTokenExpiry(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	h := newHarness(t, func(o *wxapi.Options) { o.Now = clock })
	h.cache.Now = clock
	h.mustSend(t, "o_user1", "一")
	if got, want := h.cache.ExpiresAt(wxapitest.AppID), clock().Add(7200*time.Second-300*time.Second); !got.Equal(want) {
		t.Fatalf("cached until %v, want %v (expires_in − 300 s)", got, want)
	}
	advance(6899 * time.Second)
	h.mustSend(t, "o_user1", "二")
	if got := h.fake.TokenFetches(); got != 1 {
		t.Fatalf("token fetches before expiry = %d, want 1", got)
	}
	advance(2 * time.Second)
	h.mustSend(t, "o_user1", "三")
	if got := h.fake.TokenFetches(); got != 2 {
		t.Fatalf("token fetches after expiry = %d, want 2", got)
	}
}

func TestTokenTTLGuard(t *testing.T) {
	for _, tc := range []struct {
		name      string
		expiresIn string
		wantTTL   time.Duration // 0 = not cached
	}{
		{"Short", "200", 100 * time.Second},
		{"Exactly300", "300", 150 * time.Second},
		{"One", "1", 500 * time.Millisecond},
		{"Zero", "0", 0},
		{"Negative", "-5", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fetches, sends int
			var mu sync.Mutex
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				if r.URL.Path == "/cgi-bin/token" {
					fetches++
					io.WriteString(w, `{"access_token":"tok","expires_in":`+tc.expiresIn+`}`)
					return
				}
				sends++
				io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
			}))
			defer srv.Close()
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			cache := &wxapitest.TokenCache{Now: clock}
			c, err := wxapi.New(wxapi.Options{BaseURL: srv.URL, AppID: "wxa", AppSecret: "s", Tokens: cache, Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := c.SendText(t.Context(), "o", "x"); err != nil {
					t.Fatal(err)
				}
			}
			exp := cache.ExpiresAt("wxa")
			if tc.wantTTL == 0 {
				if !exp.IsZero() || fetches != 2 {
					t.Fatalf("cached until %v after %d fetches; want not cached, 2 fetches", exp, fetches)
				}
				return
			}
			if got := exp.Sub(now); got != tc.wantTTL || fetches != 1 {
				t.Fatalf("TTL %v after %d fetches, want %v after 1", got, fetches, tc.wantTTL)
			}
		})
	}
}

func TestTokenRejected(t *testing.T) {
	t.Run("RefreshRetryOnce", func(t *testing.T) {
		h := newHarness(t)
		h.mustSend(t, "o_user1", "一")
		h.fake.InvalidateTokens() // the real 40001
		h.mustSend(t, "o_user1", "二")
		if got := h.fake.TokenFetches(); got != 2 {
			t.Fatalf("token fetches = %d, want 2", got)
		}
		if got := h.fake.SendAttempts(); got != 3 {
			t.Fatalf("send attempts = %d, want 3", got)
		}
		if got := h.cache.Deletes(); got != 1 {
			t.Fatalf("cache deletes = %d, want 1", got)
		}
		if got := len(h.fake.Sent()); got != 2 {
			t.Fatalf("sent %d, want 2", got)
		}
	})

	for _, code := range []int{40001, 42001, 40014} {
		t.Run("Injected"+strconv.Itoa(code), func(t *testing.T) {
			h := newHarness(t)
			h.fake.FailNext(code, 1)
			h.mustSend(t, "o_user1", "一")
			if f, a := h.fake.TokenFetches(), h.fake.SendAttempts(); f != 2 || a != 2 {
				t.Fatalf("fetches %d attempts %d, want 2 and 2", f, a)
			}
		})
	}

	t.Run("ErrTwice", func(t *testing.T) {
		h := newHarness(t)
		h.fake.FailNext(42001, 2)
		err := h.client.SendText(t.Context(), "o_user1", "一")
		var ae *wxapi.APIError
		if !errors.As(err, &ae) || ae.Code != 42001 {
			t.Fatalf("err = %v, want errcode 42001", err)
		}
		if f, a := h.fake.TokenFetches(), h.fake.SendAttempts(); f != 2 || a != 2 {
			t.Fatalf("fetches %d attempts %d, want 2 and 2", f, a)
		}
	})

	t.Run("ExpiredToken", func(t *testing.T) {
		h := newHarness(t)
		h.mustSend(t, "o_user1", "一")
		h.fake.ExpireTokens() // the real 42001
		h.mustSend(t, "o_user1", "二")
		if got := h.fake.TokenFetches(); got != 2 {
			t.Fatalf("token fetches = %d, want 2", got)
		}
	})

	t.Run("ConcurrentRefreshOnce", func(t *testing.T) {
		h := newHarness(t)
		h.mustSend(t, "o_user1", "一")
		h.fake.InvalidateTokens()
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if err := h.client.SendText(t.Context(), "o_user1", "二"); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := h.fake.TokenFetches(); got != 2 {
			t.Fatalf("token fetches = %d, want 2 (one refresh for all callers)", got)
		}
	})
}

func TestBusy(t *testing.T) {
	t.Run("RetryThenOK", func(t *testing.T) {
		h := newHarness(t)
		h.fake.FailNext(-1, 2)
		h.mustSend(t, "o_user1", "一")
		if got := h.fake.SendAttempts(); got != 3 {
			t.Fatalf("send attempts = %d, want 3", got)
		}
		ds := h.sleeps.all()
		if len(ds) != 2 {
			t.Fatalf("waits = %v, want 2", ds)
		}
		for i, d := range ds {
			full := 200 * time.Millisecond << i
			if d < full/2 || d > full {
				t.Errorf("wait %d = %v, want in [%v, %v]", i, d, full/2, full)
			}
		}
	})

	t.Run("ErrBusy", func(t *testing.T) {
		h := newHarness(t)
		h.fake.FailNext(-1, 3)
		err := h.client.SendText(t.Context(), "o_user1", "一")
		if !errors.Is(err, wxapi.ErrBusy) {
			t.Fatalf("err = %v, want ErrBusy", err)
		}
		if got := h.fake.SendAttempts(); got != 3 {
			t.Fatalf("send attempts = %d, want 3", got)
		}
	})

	t.Run("ContextEndsDuringBackoff", func(t *testing.T) {
		h := newHarness(t, func(o *wxapi.Options) { o.Sleep = nil }) // the real timer
		h.fake.FailNext(-1, 3)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		err := h.client.SendText(ctx, "o_user1", "一")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
		if got := h.fake.SendAttempts(); got != 1 {
			t.Fatalf("send attempts = %d, want 1", got)
		}
	})
}

func TestErrcodes(t *testing.T) {
	sentinels := []*wxapi.APIError{
		wxapi.ErrWindowClosed, wxapi.ErrQuotaExhausted, wxapi.ErrDailyLimit,
		wxapi.ErrUnauthorized, wxapi.ErrInvalidOpenID, wxapi.ErrNotFollowing,
	}
	for _, want := range sentinels {
		t.Run(want.Msg, func(t *testing.T) {
			h := newHarness(t)
			h.fake.FailNext(want.Code, 1)
			err := h.client.SendText(t.Context(), "o_user1", "一")
			if !errors.Is(err, want) {
				t.Fatalf("err = %v, want errors.Is %d", err, want.Code)
			}
			for _, other := range sentinels {
				if other != want && errors.Is(err, other) {
					t.Fatalf("err %v also matches %d", err, other.Code)
				}
			}
			var ae *wxapi.APIError
			if !errors.As(err, &ae) || ae.Msg != "injected by wxapitest" {
				t.Fatalf("errors.As: %#v", ae)
			}
			if got := h.fake.SendAttempts(); got != 1 {
				t.Fatalf("send attempts = %d, want 1 (no retry)", got)
			}
			if got := len(h.fake.Sent()); got != 0 {
				t.Fatalf("sent %d, want 0", got)
			}
		})
	}
}

func TestStableToken(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		h := newHarness(t, func(o *wxapi.Options) { o.Stable = true })
		h.mustSend(t, "o_user1", "一")
		h.mustSend(t, "o_user1", "二")
		want := []string{"POST /cgi-bin/stable_token", "POST /cgi-bin/message/custom/send", "POST /cgi-bin/message/custom/send"}
		if got := h.rec.paths(); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("requests = %v, want %v", got, want)
		}
		body := h.rec.bodies("/cgi-bin/stable_token")[0]
		wantBody := `{"grant_type":"client_credential","appid":"` + wxapitest.AppID + `","secret":"` + wxapitest.AppSecret + `","force_refresh":false}`
		if body != wantBody {
			t.Fatalf("stable_token body = %s, want %s", body, wantBody)
		}
	})

	t.Run("ForceRefreshWhenSameToken", func(t *testing.T) {
		h := newHarness(t, func(o *wxapi.Options) { o.Stable = true })
		h.mustSend(t, "o_user1", "一")
		h.fake.FailNext(40001, 1) // the stable token itself stays the same
		h.mustSend(t, "o_user1", "二")
		bodies := h.rec.bodies("/cgi-bin/stable_token")
		if len(bodies) != 3 || !strings.Contains(bodies[1], `"force_refresh":false`) || !strings.Contains(bodies[2], `"force_refresh":true`) {
			t.Fatalf("stable_token calls = %v, want plain, plain, forced", bodies)
		}
	})

	t.Run("NoForceWhenTokenChanged", func(t *testing.T) {
		h := newHarness(t, func(o *wxapi.Options) { o.Stable = true })
		h.mustSend(t, "o_user1", "一")
		h.fake.InvalidateTokens()
		h.mustSend(t, "o_user1", "二")
		bodies := h.rec.bodies("/cgi-bin/stable_token")
		if len(bodies) != 2 || strings.Contains(bodies[1], `"force_refresh":true`) {
			t.Fatalf("stable_token calls = %v, want two unforced", bodies)
		}
	})
}

func TestContext(t *testing.T) {
	t.Run("Canceled", func(t *testing.T) {
		h := newHarness(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := h.client.SendText(ctx, "o_user1", "一")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if got := len(h.fake.Sent()); got != 0 {
			t.Fatalf("sent %d, want 0", got)
		}
	})

	t.Run("DeadlineDuringRequest", func(t *testing.T) {
		h := newHarness(t)
		if _, err := h.client.AccessToken(t.Context()); err != nil {
			t.Fatal(err)
		}
		h.fake.SetDelay(time.Hour)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := h.client.SendText(ctx, "o_user1", "一")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("returned after %v", d)
		}
		if strings.Contains(err.Error(), "access_token=") {
			t.Fatalf("error leaks the token: %v", err)
		}
	})

	t.Run("CanceledWhileWaitingForFetch", func(t *testing.T) {
		h := newHarness(t)
		h.fake.SetDelay(time.Hour)
		first, cancelFirst := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { _, err := h.client.AccessToken(first); done <- err }()
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if _, err := h.client.AccessToken(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
		cancelFirst()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("first caller: err = %v, want context.Canceled", err)
		}
	})
}

func TestHTTPErrors(t *testing.T) {
	const secret = "s3cr3t-never-in-errors"
	t.Run("Status", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "bad gateway", http.StatusBadGateway)
		}))
		defer srv.Close()
		c, err := wxapi.New(wxapi.Options{BaseURL: srv.URL, AppID: "wxa", AppSecret: secret})
		if err != nil {
			t.Fatal(err)
		}
		err = c.SendText(t.Context(), "o", "x")
		if err == nil || !strings.Contains(err.Error(), "502") {
			t.Fatalf("err = %v, want HTTP 502", err)
		}
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error leaks the secret: %v", err)
		}
	})

	t.Run("TooLarge", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"access_token":"`+strings.Repeat("a", 2<<20)+`","expires_in":7200}`)
		}))
		defer srv.Close()
		c, err := wxapi.New(wxapi.Options{BaseURL: srv.URL, AppID: "wxa", AppSecret: secret})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.AccessToken(t.Context()); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Fatalf("err = %v, want a size error", err)
		}
	})

	t.Run("Unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		c, err := wxapi.New(wxapi.Options{BaseURL: url, AppID: "wxa", AppSecret: secret})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.AccessToken(t.Context())
		if err == nil || strings.Contains(err.Error(), secret) {
			t.Fatalf("err = %v, want an error without the secret", err)
		}
	})

	t.Run("WrongSecret", func(t *testing.T) {
		h := newHarness(t, func(o *wxapi.Options) { o.AppSecret = secret })
		err := h.client.SendText(t.Context(), "o_user1", "一")
		var ae *wxapi.APIError
		if !errors.As(err, &ae) || ae.Code != 40125 {
			t.Fatalf("err = %v, want errcode 40125", err)
		}
		if want := "wxapi: send text: access_token: errcode 40125: invalid appsecret"; err.Error() != want {
			t.Fatalf("err = %q, want %q", err, want)
		}
		if got := h.fake.SendAttempts(); got != 0 {
			t.Fatalf("send attempts = %d, want 0", got)
		}
	})
}

func TestLogsKeepPrivateData(t *testing.T) {
	h := newHarness(t)
	const openID, text = "o_private_openid_123", "我的手机号是13800000000"
	h.fake.FailNext(40001, 1)
	h.fake.FailNext(-1, 1)
	h.mustSend(t, openID, text)
	tok, err := h.client.AccessToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	logs := h.logs.String()
	if logs == "" {
		t.Fatal("nothing logged")
	}
	for _, secret := range []string{openID, text, tok, wxapitest.AppSecret} {
		if strings.Contains(logs, secret) {
			t.Fatalf("logs contain %q:\n%s", secret, logs)
		}
	}
}

func TestTyping(t *testing.T) {
	h := newHarness(t)
	if err := h.client.Typing(t.Context(), "o_user1", true); err != nil {
		t.Fatal(err)
	}
	if err := h.client.Typing(t.Context(), "o_user1", false); err != nil {
		t.Fatal(err)
	}
	got := h.fake.Typing()
	if len(got) != 2 || got[0].Command != "Typing" || got[1].Command != "CancelTyping" || got[0].OpenID != "o_user1" {
		t.Fatalf("typing = %+v", got)
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts wxapi.Options
	}{
		{"ErrNoAppID", wxapi.Options{AppSecret: "s"}},
		{"ErrNoSecret", wxapi.Options{AppID: "a"}},
		{"ErrBaseURL", wxapi.Options{AppID: "a", AppSecret: "s", BaseURL: "api.weixin.qq.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := wxapi.New(tc.opts); err == nil {
				t.Fatal("no error")
			}
		})
	}
	t.Run("DefaultCache", func(t *testing.T) {
		fake := wxapitest.NewServer()
		defer fake.Close()
		c, err := wxapi.New(wxapi.Options{BaseURL: fake.URL() + "/", AppID: wxapitest.AppID, AppSecret: wxapitest.AppSecret})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := c.SendText(t.Context(), "o", "x"); err != nil {
				t.Fatal(err)
			}
		}
		if got := fake.TokenFetches(); got != 1 {
			t.Fatalf("token fetches = %d, want 1", got)
		}
	})
}
