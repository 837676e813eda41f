package wxapitest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kefuhq/kefu/wxapi/wxapitest"
)

func getJSON(t *testing.T, rawURL string, out any) {
	t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", rawURL, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

func postJSON(t *testing.T, rawURL, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(rawURL, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func token(t *testing.T, s *wxapitest.Server) string {
	t.Helper()
	q := url.Values{"grant_type": {"client_credential"}, "appid": {wxapitest.AppID}, "secret": {wxapitest.AppSecret}}
	var out struct {
		AccessToken string  `json:"access_token"`
		ExpiresIn   float64 `json:"expires_in"`
	}
	getJSON(t, s.URL()+"/cgi-bin/token?"+q.Encode(), &out)
	if out.AccessToken == "" || out.ExpiresIn != 7200 {
		t.Fatalf("token answer %+v", out)
	}
	return out.AccessToken
}

func send(t *testing.T, s *wxapitest.Server, tok, openID, text string) float64 {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"touser": openID, "msgtype": "text", "text": map[string]string{"content": text}})
	out := postJSON(t, s.URL()+"/cgi-bin/message/custom/send?access_token="+url.QueryEscape(tok), string(b))
	return out["errcode"].(float64)
}

func TestToken(t *testing.T) {
	s := wxapitest.NewServer()
	defer s.Close()
	for _, tc := range []struct {
		name  string
		query url.Values
		code  float64
	}{
		{"ErrGrantType", url.Values{"grant_type": {"x"}, "appid": {wxapitest.AppID}, "secret": {wxapitest.AppSecret}}, 40002},
		{"ErrAppID", url.Values{"grant_type": {"client_credential"}, "appid": {"wx1"}, "secret": {wxapitest.AppSecret}}, 40013},
		{"ErrSecret", url.Values{"grant_type": {"client_credential"}, "appid": {wxapitest.AppID}, "secret": {"x"}}, 40125},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out map[string]any
			getJSON(t, s.URL()+"/cgi-bin/token?"+tc.query.Encode(), &out)
			if out["errcode"] != tc.code {
				t.Fatalf("answer %v, want errcode %v", out, tc.code)
			}
		})
	}
	t.Run("NewEachCall", func(t *testing.T) {
		a, b := token(t, s), token(t, s)
		if a == b {
			t.Fatal("same token twice")
		}
		if code := send(t, s, a, "o1", "旧的仍然有效"); code != 0 {
			t.Fatalf("older token: errcode %v, want 0 (5 min grace)", code)
		}
	})
	t.Run("Stable", func(t *testing.T) {
		body := `{"grant_type":"client_credential","appid":"` + wxapitest.AppID + `","secret":"` + wxapitest.AppSecret + `","force_refresh":false}`
		a := postJSON(t, s.URL()+"/cgi-bin/stable_token", body)["access_token"]
		b := postJSON(t, s.URL()+"/cgi-bin/stable_token", body)["access_token"]
		c := postJSON(t, s.URL()+"/cgi-bin/stable_token", strings.Replace(body, "false", "true", 1))["access_token"]
		if a == nil || a != b || c == a {
			t.Fatalf("stable tokens %v %v %v: want a == b != forced", a, b, c)
		}
	})
}

func TestSend(t *testing.T) {
	s := wxapitest.NewServer()
	defer s.Close()
	tok := token(t, s)
	for _, tc := range []struct {
		name, token, body string
		code              float64
	}{
		{"ErrNoToken", "", `{"touser":"o","msgtype":"text","text":{"content":"x"}}`, 41001},
		{"ErrUnknownToken", "nope", `{"touser":"o","msgtype":"text","text":{"content":"x"}}`, 40001},
		{"ErrJSON", tok, `{`, 47001},
		{"ErrNoUser", tok, `{"msgtype":"text","text":{"content":"x"}}`, 40003},
		{"ErrEmptyText", tok, `{"touser":"o","msgtype":"text","text":{"content":""}}`, 44004},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := postJSON(t, s.URL()+"/cgi-bin/message/custom/send?access_token="+url.QueryEscape(tc.token), tc.body)
			if out["errcode"] != tc.code {
				t.Fatalf("answer %v, want errcode %v", out, tc.code)
			}
		})
	}
	if n := len(s.Sent()); n != 0 {
		t.Fatalf("recorded %d failed sends", n)
	}

	t.Run("FailNextQueue", func(t *testing.T) {
		s.FailNext(-1, 2)
		s.FailNext(45015, 1)
		var got []float64
		for range 4 {
			got = append(got, send(t, s, tok, "o1", "x"))
		}
		if want := []float64{-1, -1, 45015, 0}; !slices.Equal(got, want) {
			t.Fatalf("errcodes %v, want %v", got, want)
		}
	})

	t.Run("InvalidateAndExpire", func(t *testing.T) {
		s.InvalidateTokens()
		if code := send(t, s, tok, "o1", "x"); code != 40001 {
			t.Fatalf("errcode %v, want 40001", code)
		}
		tok2 := token(t, s)
		s.ExpireTokens()
		if code := send(t, s, tok2, "o1", "x"); code != 42001 {
			t.Fatalf("errcode %v, want 42001", code)
		}
	})
}

func TestWaitSent(t *testing.T) {
	s := wxapitest.NewServer()
	defer s.Close()
	tok := token(t, s)

	done := make(chan []wxapitest.SentMessage, 1)
	go func() {
		msgs, err := s.WaitSentTo(t.Context(), "o2", 2)
		if err != nil {
			t.Error(err)
		}
		done <- msgs
	}()
	send(t, s, tok, "o1", "一")
	send(t, s, tok, "o2", "二")
	send(t, s, tok, "o2", "三 <&>")
	msgs := <-done
	if len(msgs) != 2 || msgs[0].Text != "二" || msgs[1].Text != "三 <&>" {
		t.Fatalf("WaitSentTo = %+v", msgs)
	}

	all, err := s.WaitSent(t.Context(), 3)
	if err != nil || len(all) != 3 {
		t.Fatalf("WaitSent = %v, %v", all, err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.WaitSent(ctx, 4); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
}

func TestControlEndpoints(t *testing.T) {
	s := wxapitest.NewServer()
	defer s.Close()
	tok := token(t, s)

	got := make(chan []wxapitest.SentMessage, 1)
	go func() {
		var msgs []wxapitest.SentMessage
		getJSON(t, s.URL()+"/_sent?openid=o2&after=0&wait=5s", &msgs)
		got <- msgs
	}()
	send(t, s, tok, "o1", "一")
	send(t, s, tok, "o2", "工单已受理")
	if msgs := <-got; len(msgs) != 1 || msgs[0].Text != "工单已受理" || msgs[0].OpenID != "o2" {
		t.Fatalf("/_sent = %+v", msgs)
	}

	var none []wxapitest.SentMessage
	getJSON(t, s.URL()+"/_sent?openid=o2&after=1&wait=10ms", &none)
	if len(none) != 1 {
		t.Fatalf("/_sent after timeout = %+v, want the 1 message", none)
	}

	resp, err := http.Post(s.URL()+"/_fail?code=45047&times=1", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if code := send(t, s, tok, "o1", "x"); code != 45047 {
		t.Fatalf("errcode %v, want 45047", code)
	}

	var stats map[string]int
	getJSON(t, s.URL()+"/_stats", &stats)
	if stats["token_fetches"] != 1 || stats["send_attempts"] != 3 || stats["sent"] != 2 {
		t.Fatalf("stats = %v", stats)
	}
}

func TestCloseEndsDelay(t *testing.T) {
	s := wxapitest.NewServer()
	s.SetDelay(time.Hour)
	wrote := make(chan struct{})
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodGet, s.URL()+"/cgi-bin/token", nil)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-wrote
	// Close must not wait an hour for the delayed request.
	start := time.Now()
	s.Close()
	<-errc
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Close took %v", d)
	}
}
