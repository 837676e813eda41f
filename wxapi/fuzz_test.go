package wxapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kefuhq/kefu/wxapi"
	"github.com/kefuhq/kefu/wxapi/wxapitest"
)

// answers is an http.RoundTripper that answers every token request with
// token and every other request with send, both 200 OK.
type answers struct{ token, send []byte }

func (a answers) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	body := a.send
	if strings.Contains(req.URL.Path, "token") {
		body = a.token
	}
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Header: http.Header{},
		Body: io.NopCloser(strings.NewReader(string(body))), Request: req}, nil
}

// FuzzAnswers feeds the client arbitrary answers from WeChat, to the token
// request and to the send: it must not panic, must succeed exactly when
// both answers are well-formed successes, and must never cache an empty
// or expired token.
func FuzzAnswers(f *testing.F) {
	f.Add([]byte(`{"access_token":"TOKEN","expires_in":7200}`), []byte(`{"errcode":0,"errmsg":"ok"}`))
	f.Add([]byte(`{"access_token":"TOKEN","expires_in":-1}`), []byte(`{"errcode":0}`))
	f.Add([]byte(`{"access_token":"TOKEN","expires_in":9223372036854775807}`), []byte(`{}`))
	f.Add([]byte(`{"access_token":"","expires_in":7200}`), []byte(`{"errcode":0}`))
	f.Add([]byte(`{"errcode":40013,"errmsg":"invalid appid"}`), []byte(`{"errcode":0}`))
	f.Add([]byte(`{"access_token":"TOKEN","expires_in":7200}`), []byte(`{"errcode":40001,"errmsg":"invalid credential"}`))
	f.Add([]byte(`{"access_token":"TOKEN","expires_in":7200}`), []byte(`{"errcode":-1,"errmsg":"system busy"}`))
	f.Add([]byte(`{"access_token":"TOKEN","expires_in":7200}`), []byte(`{"errcode":45015,"errmsg":"response out of time limit"}`))
	f.Add([]byte(`<html>502</html>`), []byte(`{"errcode":"0"}`))
	f.Add([]byte(`null`), []byte(`[]`))
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, token, send []byte) {
		cache := &wxapitest.TokenCache{Now: func() time.Time { return now }}
		c, err := wxapi.New(wxapi.Options{
			BaseURL: "http://wechat.invalid", AppID: wxapitest.AppID, AppSecret: wxapitest.AppSecret,
			HTTPClient: &http.Client{Transport: answers{token, send}},
			Tokens:     cache,
			Now:        func() time.Time { return now },
			Sleep:      func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
		})
		if err != nil {
			t.Fatal(err)
		}
		err = c.SendText(context.Background(), "o-fuzz", "你好")

		// The answers' shapes, as the client reads them.
		var tr struct {
			ErrCode     int    `json:"errcode"`
			ErrMsg      string `json:"errmsg"`
			AccessToken string `json:"access_token"`
			ExpiresIn   int64  `json:"expires_in"`
		}
		var sr struct {
			ErrCode int    `json:"errcode"`
			ErrMsg  string `json:"errmsg"`
		}
		tokenOK := json.Unmarshal(token, &tr) == nil && tr.ErrCode == 0 && tr.AccessToken != ""
		sendOK := json.Unmarshal(send, &sr) == nil && sr.ErrCode == 0
		if (err == nil) != (tokenOK && sendOK) {
			t.Fatalf("SendText = %v; token answer ok %v, send answer ok %v", err, tokenOK, sendOK)
		}
		if exp := cache.ExpiresAt(wxapitest.AppID); !exp.IsZero() && !exp.After(now) {
			t.Fatalf("token cached until %v, not after now (%v)", exp, now)
		}
		if tok, _, err := cache.Token(context.Background(), wxapitest.AppID); err == nil && tok == "" {
			t.Fatal("an empty token was cached")
		}
	})
}
