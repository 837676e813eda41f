package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/internal/logid"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

const (
	testToken = "spamtest"
	testAppID = "wx2c2769f8efd9abc2"
	testKey   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" // vector B
	testKey2  = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
	testNow   = 1714040000
)

// recorder is a Responder that records what it got and answers with a
// fixed text (or panics).
type recorder struct {
	mu       sync.Mutex
	got      []bot.Inbound
	deadline bool
	reply    string
	panic    bool
}

func (r *recorder) Respond(ctx context.Context, in bot.Inbound) bot.Reply {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, in)
	_, r.deadline = ctx.Deadline()
	if r.panic {
		panic("responder bug")
	}
	return bot.Reply{Text: r.reply}
}

func (r *recorder) calls() []bot.Inbound {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Inbound(nil), r.got...)
}

// testServer is a Gin engine with the webhook mounted.
type testServer struct {
	engine *gin.Engine
	h      *Handler
	resp   *recorder
	opts   Options
}

func mustServer(tb testing.TB, opts Options, reply string) *testServer {
	tb.Helper()
	if opts.Token == "" {
		opts.Token = testToken
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Unix(testNow, 0) }
	}
	resp := &recorder{reply: reply}
	h, err := NewHandler(opts, resp)
	if err != nil {
		tb.Fatal(err)
	}
	e := gin.New()
	h.Register(e)
	return &testServer{engine: e, h: h, resp: resp, opts: opts}
}

func aesOptions(keys ...string) Options {
	if len(keys) == 0 {
		keys = []string{testKey}
	}
	return Options{Token: testToken, AppID: testAppID, AESKeys: keys}
}

func (s *testServer) do(method, rawQuery string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/wechat", bytes.NewReader(body))
	req.URL.RawQuery = rawQuery
	req.Header.Set("Content-Type", "text/xml")
	w := httptest.NewRecorder()
	s.engine.ServeHTTP(w, req)
	return w
}

// signedQuery returns the query WeChat sends in plaintext mode.
func signedQuery(token, ts, nonce string) url.Values {
	return url.Values{
		"signature": {Signature(token, ts, nonce)},
		"timestamp": {ts},
		"nonce":     {nonce},
		"openid":    {"oKefuTestUser0000000000000A"},
	}
}

// sealRequest encrypts msg with c as WeChat does and returns the query and
// the body (safe mode, or compatible mode with the plaintext fields too).
func sealRequest(tb testing.TB, c *Cipher, token, ts, nonce string, msg []byte, compatible bool) (url.Values, []byte) {
	tb.Helper()
	enc, err := c.Encrypt(msg, 0)
	if err != nil {
		tb.Fatal(err)
	}
	q := signedQuery(token, ts, nonce)
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", MsgSignature(token, ts, nonce, enc))
	var body []byte
	if compatible {
		body = bytes.Replace(msg, []byte("</xml>"), []byte("<Encrypt><![CDATA["+enc+"]]></Encrypt></xml>"), 1)
	} else {
		body = []byte("<xml><ToUserName><![CDATA[gh_kefu00000001]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>")
	}
	return q, body
}

// openReply checks an encrypted reply envelope and returns the parsed
// reply and the key index that opened it.
func openReply(tb testing.TB, body []byte, c *Cipher, token string) (bot.Inbound, Envelope) {
	tb.Helper()
	env, err := ParseEnvelope(body)
	if err != nil {
		tb.Fatalf("reply %q: %v", body, err)
	}
	if !CheckMsgSignature(env.MsgSignature, token, env.TimeStamp, env.Nonce, env.Encrypt) {
		tb.Fatalf("reply MsgSignature does not verify: %s", body)
	}
	msg, _, err := c.Decrypt(env.Encrypt)
	if err != nil {
		tb.Fatalf("decrypt reply: %v", err)
	}
	in, err := ParseMessage(msg)
	if err != nil {
		tb.Fatalf("reply XML %q: %v", msg, err)
	}
	return in, env
}

func TestNewHandler(t *testing.T) {
	r := &recorder{}
	tests := []struct {
		name string
		opts Options
		resp Responder
		ok   bool
	}{
		{"OKPlain", Options{Token: "t"}, r, true},
		{"OKSafe", Options{Token: "t", AppID: "wx1", AESKeys: []string{testKey, testKey2}}, r, true},
		{"ErrNoToken", Options{}, r, false},
		{"ErrNoResponder", Options{Token: "t"}, nil, false},
		{"ErrBadKey", Options{Token: "t", AppID: "wx1", AESKeys: []string{"short"}}, r, false},
		{"ErrKeysWithoutAppID", Options{Token: "t", AESKeys: []string{testKey}}, r, false},
		{"ErrNegativeMaxBody", Options{Token: "t", MaxBody: -1}, r, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewHandler(tt.opts, tt.resp)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestVerifyURL(t *testing.T) {
	// The official example (WECHAT.md §1).
	official := "signature=f464b24fc39322e44b38aa78f5edd27bd1441696&echostr=4375120948345356249&timestamp=1714036504&nonce=1514711492"
	tests := []struct {
		name       string
		opts       Options
		query      string
		wantStatus int
		wantBody   string
	}{
		{"OK", Options{Token: "AAAAA"}, official, 200, "4375120948345356249"},
		{"OKSafeModeStillPlain", Options{Token: "AAAAA", AppID: "wx1", AESKeys: []string{strings.Repeat("A", 43)}}, official, 200, "4375120948345356249"},
		{"OKEscapedEchostr", Options{Token: "AAAAA"}, strings.Replace(official, "echostr=4375120948345356249", "echostr=a%2Bb+c%26", 1), 200, "a+b c&"},
		{"ErrWrongToken", Options{Token: "BBBBB"}, official, 401, ""},
		{"ErrNoSignature", Options{Token: "AAAAA"}, "echostr=1&timestamp=1714036504&nonce=1514711492", 401, ""},
		{"ErrTamperedNonce", Options{Token: "AAAAA"}, strings.Replace(official, "nonce=1514711492", "nonce=1514711493", 1), 401, ""},
		{"ErrNoEchostr", Options{Token: "AAAAA"}, strings.Replace(official, "echostr=4375120948345356249&", "", 1), 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustServer(t, tt.opts, "unused")
			w := s.do(http.MethodGet, tt.query, nil)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (%q)", w.Code, tt.wantStatus, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.wantStatus == 200 && w.Body.String() != tt.wantBody {
				t.Errorf("body %q, want %q", w.Body, tt.wantBody)
			}
			if len(s.resp.calls()) != 0 {
				t.Error("the responder was called on GET")
			}
		})
	}
}

func TestPlainPOSTOfficialSignature(t *testing.T) {
	// WECHAT.md §1: timestamp 1714037059, nonce 486452656, token AAAAA.
	s := mustServer(t, Options{Token: "AAAAA"}, "您好，人工客服请拨打95017")
	q := "signature=899cf89e464efb63f54ddac96b0a0a235f53aa78&timestamp=1714037059&nonce=486452656&openid=oKefuTestUser0000000000000A"
	w := s.do(http.MethodPost, q, mustRead(t, "text.xml"))
	if w.Code != 200 {
		t.Fatalf("status %d: %q", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/xml; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	want := "<xml><ToUserName><![CDATA[oKefuTestUser0000000000000A]]></ToUserName><FromUserName><![CDATA[gh_kefu00000001]]></FromUserName>" +
		"<CreateTime>1714040000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[您好，人工客服请拨打95017]]></Content></xml>"
	if w.Body.String() != want {
		t.Errorf("reply\n got %s\nwant %s", w.Body, want)
	}
	calls := s.resp.calls()
	if len(calls) != 1 || calls[0].Text != "怎么联系人工客服？" || calls[0].MsgID != "24542164416934421" {
		t.Fatalf("responder got %+v", calls)
	}
	if !s.resp.deadline {
		t.Error("Respond got a context without deadline")
	}
}

// TestVectorB drives the official sample message (WECHAT.md §3 B) through
// the Gin route in safe and compatible mode.
func TestVectorB(t *testing.T) {
	official := url.Values{
		"signature":     {"16120ec1b8dbb870f510d87ce6bc2463eae6ca1a"},
		"timestamp":     {"1409735669"},
		"nonce":         {"1320562132"},
		"openid":        {"oyORnuP8q7ou2gfYjqLzSIWZf0rs"},
		"encrypt_type":  {"aes"},
		"msg_signature": {"5d197aaffba7e9b25a30732f161a50dee96bd5fa"},
	}
	onlyMsgSig := url.Values{}
	for k, v := range official {
		if k != "signature" {
			onlyMsgSig[k] = v
		}
	}
	tests := []struct {
		name  string
		query url.Values
		file  string
		reply string
	}{
		{"Safe", official, "vector_b_safe.xml", "收到：abcdteT"},
		{"Compatible", official, "vector_b_compatible.xml", "收到：abcdteT"},
		{"OnlyMsgSignature", onlyMsgSig, "vector_b_safe.xml", "收到：abcdteT"},
		{"EmptyReplyIsSuccess", official, "vector_b_safe.xml", ""},
	}
	c := mustCipher(t, testAppID, testKey)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustServer(t, aesOptions(), tt.reply)
			w := s.do(http.MethodPost, tt.query.Encode(), mustRead(t, tt.file))
			if w.Code != 200 {
				t.Fatalf("status %d: %q", w.Code, w.Body)
			}
			calls := s.resp.calls()
			if len(calls) != 1 {
				t.Fatalf("responder called %d times", len(calls))
			}
			in := calls[0]
			if in.Text != "abcdteT" || in.MsgID != "6054768590064713728" || in.OpenID != "oyORnuP8q7ou2gfYjqLzSIWZf0rs" ||
				in.AccountID != "gh_10f6c3c3ac5a" || in.Kind != bot.KindText || in.CreateTime.Unix() != 1409735668 {
				t.Fatalf("responder got %+v", in)
			}
			if tt.reply == "" {
				if w.Body.String() != "success" || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
					t.Fatalf("empty reply: %q (%s)", w.Body, w.Header().Get("Content-Type"))
				}
				return
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/xml; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			reply, env := openReply(t, w.Body.Bytes(), c, testToken)
			if env.Nonce != "1320562132" || env.TimeStamp != strconv.Itoa(testNow) {
				t.Errorf("Nonce %q, TimeStamp %q: want the request nonce and now", env.Nonce, env.TimeStamp)
			}
			if reply.OpenID != "gh_10f6c3c3ac5a" || reply.AccountID != "oyORnuP8q7ou2gfYjqLzSIWZf0rs" || reply.Text != tt.reply {
				t.Errorf("reply %+v", reply)
			}
		})
	}
}

func TestWebhookErrors(t *testing.T) {
	c := mustCipher(t, testAppID, testKey)
	other := mustCipher(t, "wxSomeoneElse", testKey)
	msg := mustRead(t, "text.xml")
	const ts, nonce = "1714040000", "123456789"
	plain := signedQuery(testToken, ts, nonce)

	with := func(q url.Values, key, value string) url.Values {
		out := url.Values{}
		for k, v := range q {
			out[k] = v
		}
		if value == "" {
			out.Del(key)
		} else {
			out.Set(key, value)
		}
		return out
	}
	safeQ, safeBody := sealRequest(t, c, testToken, ts, nonce, msg, false)
	otherQ, otherBody := sealRequest(t, other, testToken, ts, nonce, msg, false)
	// A tampered Encrypt, signed again so only decryption can catch it.
	env, _ := ParseEnvelope(safeBody)
	tampered := "AAAA" + env.Encrypt[4:]
	tamperedQ := with(safeQ, "msg_signature", MsgSignature(testToken, ts, nonce, tampered))
	tamperedBody := []byte("<xml><Encrypt><![CDATA[" + tampered + "]]></Encrypt></xml>")
	notB64 := "@@@@"
	notB64Q := with(safeQ, "msg_signature", MsgSignature(testToken, ts, nonce, notB64))
	noEncrypt := []byte("<xml><ToUserName>gh</ToUserName></xml>")
	// The signature covers the text inside Encrypt; sign the empty string.
	noEncryptQ := with(safeQ, "msg_signature", MsgSignature(testToken, ts, nonce, ""))
	big := append([]byte("<xml><Content>"), bytes.Repeat([]byte("x"), 2048)...)

	tests := []struct {
		name       string
		opts       Options
		method     string
		query      url.Values
		body       []byte
		chunked    bool
		wantStatus int
	}{
		{"ErrPlainBadSignature", Options{}, "POST", with(plain, "signature", strings.Repeat("0", 40)), msg, false, 401},
		{"ErrPlainNoSignature", Options{}, "POST", with(plain, "signature", ""), msg, false, 401},
		{"ErrPlainWrongNonce", Options{}, "POST", with(plain, "nonce", "1"), msg, false, 401},
		{"ErrPlainMalformedXML", Options{}, "POST", plain, []byte("<xml><Content>"), false, 400},
		{"ErrPlainEmptyBody", Options{}, "POST", plain, nil, false, 400},
		{"ErrPlainJSON", Options{}, "POST", plain, []byte(`{"MsgType":"text"}`), false, 400},
		{"ErrPlainTooLarge", Options{MaxBody: 1024}, "POST", plain, big, false, 413},
		{"ErrPlainTooLargeChunked", Options{MaxBody: 1024}, "POST", plain, big, true, 413},
		{"ErrUnknownEncryptType", Options{}, "POST", with(plain, "encrypt_type", "des"), msg, false, 400},
		{"ErrAESNotConfigured", Options{}, "POST", safeQ, safeBody, false, 400},
		{"ErrAESNoMsgSignature", aesOptions(), "POST", with(safeQ, "msg_signature", ""), safeBody, false, 401},
		{"ErrAESBadMsgSignature", aesOptions(), "POST", with(safeQ, "msg_signature", strings.Repeat("a", 40)), safeBody, false, 401},
		{"ErrAESBadPlainSignature", aesOptions(), "POST", with(safeQ, "signature", strings.Repeat("a", 40)), safeBody, false, 401},
		{"ErrAESWrongToken", Options{Token: "other", AppID: testAppID, AESKeys: []string{testKey}}, "POST", safeQ, safeBody, false, 401},
		{"ErrAESTampered", aesOptions(), "POST", tamperedQ, tamperedBody, false, 400},
		{"ErrAESNotBase64", aesOptions(), "POST", notB64Q, []byte("<xml><Encrypt>" + notB64 + "</Encrypt></xml>"), false, 400},
		{"ErrAESAppIDMismatch", aesOptions(), "POST", otherQ, otherBody, false, 400},
		{"ErrAESNoEncrypt", aesOptions(), "POST", noEncryptQ, noEncrypt, false, 400},
		{"ErrAESMalformedEnvelope", aesOptions(), "POST", safeQ, safeBody[:len(safeBody)-3], false, 400},
		{"ErrAESTooLarge", func() Options { o := aesOptions(); o.MaxBody = 100; return o }(), "POST", safeQ, safeBody, false, 413},
		{"ErrGETBadSignature", Options{}, "GET", with(with(plain, "signature", "x"), "echostr", "1"), nil, false, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustServer(t, tt.opts, "reply")
			req := httptest.NewRequest(tt.method, "/wechat", bytes.NewReader(tt.body))
			req.URL.RawQuery = tt.query.Encode()
			if tt.chunked {
				req.ContentLength = -1
				req.Body = io.NopCloser(bytes.NewReader(tt.body))
			}
			w := httptest.NewRecorder()
			s.engine.ServeHTTP(w, req)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (%q)", w.Code, tt.wantStatus, w.Body)
			}
			if w.Body.Len() == 0 || w.Body.Len() > 64 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
				t.Errorf("error body %q (%s): want a short text", w.Body, w.Header().Get("Content-Type"))
			}
			if n := len(s.resp.calls()); n != 0 {
				t.Errorf("responder called %d times on a rejected request", n)
			}
		})
	}
}

func TestResponderPanic(t *testing.T) {
	s := mustServer(t, Options{}, "x")
	s.resp.panic = true
	w := s.do("POST", signedQuery(testToken, "1", "2").Encode(), mustRead(t, "text.xml"))
	if w.Code != 500 {
		t.Fatalf("status %d, want 500", w.Code)
	}
}

func TestWebhookReplies(t *testing.T) {
	c := mustCipher(t, testAppID, testKey)
	tests := []struct {
		name   string
		aes    bool
		compat bool
		file   string
		reply  string
	}{
		{"PlainText", false, false, "text.xml", "您好"},
		{"PlainCDATAEnd", false, false, "text.xml", "a]]>b<c>&amp;"},
		{"PlainEmptyIsSuccess", false, false, "text.xml", ""},
		{"RawEncryptTypeIsPlain", false, false, "text.xml", "您好"},
		{"SafeText", true, false, "text.xml", "您好"},
		{"SafeCDATAEnd", true, false, "text.xml", "a]]>b"},
		{"SafeEmptyIsSuccessNotEncrypted", true, false, "text.xml", ""},
		{"CompatibleText", true, true, "text.xml", "您好"},
		{"SafeSubscribe", true, false, "event_subscribe.xml", "欢迎关注"},
		{"PlainClick", false, false, "event_click.xml", "正在为您转接人工客服"},
		{"SafeVoice", true, false, "voice_recognition.xml", "请先冻结账号"},
		{"PlainImage", false, false, "image.xml", ""},
		{"SafeLocation", true, false, "location.xml", "收到位置"},
		{"PlainLink", false, false, "link.xml", "收到链接"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s *testServer
			var q url.Values
			msg := mustRead(t, tt.file)
			body := msg
			if tt.aes {
				s = mustServer(t, aesOptions(), tt.reply)
				q, body = sealRequest(t, c, testToken, "1714040001", "987654", msg, tt.compat)
			} else {
				s = mustServer(t, Options{}, tt.reply)
				q = signedQuery(testToken, "1714040001", "987654")
				if strings.HasPrefix(tt.name, "Raw") {
					q.Set("encrypt_type", "raw")
				}
			}
			w := s.do("POST", q.Encode(), body)
			if w.Code != 200 {
				t.Fatalf("status %d: %q", w.Code, w.Body)
			}
			want, err := ParseMessage(msg)
			if err != nil {
				t.Fatal(err)
			}
			if calls := s.resp.calls(); len(calls) != 1 || diffInbound(calls[0], want) != "" {
				t.Fatalf("responder got %+v, want %+v", calls, want)
			}
			if tt.reply == "" {
				if w.Body.String() != "success" {
					t.Fatalf("body %q, want success", w.Body)
				}
				return
			}
			var got bot.Inbound
			if tt.aes {
				got, _ = openReply(t, w.Body.Bytes(), c, testToken)
			} else if got, err = ParseMessage(w.Body.Bytes()); err != nil {
				t.Fatalf("reply %q: %v", w.Body, err)
			}
			if got.Text != tt.reply || got.AccountID != want.OpenID || got.OpenID != want.AccountID || got.CreateTime.Unix() != testNow {
				t.Errorf("reply %+v", got)
			}
		})
	}
}

func TestWebhookKeyRotation(t *testing.T) {
	oldC := mustCipher(t, testAppID, testKey)
	newC := mustCipher(t, testAppID, testKey2)
	s := mustServer(t, aesOptions(testKey2, testKey), "ok")
	tests := []struct {
		name   string
		sender *Cipher
	}{
		{"CurrentKey", newC},
		{"PreviousKey", oldC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, body := sealRequest(t, tt.sender, testToken, "1714040002", "42", mustRead(t, "text.xml"), false)
			w := s.do("POST", q.Encode(), body)
			if w.Code != 200 {
				t.Fatalf("status %d: %q", w.Code, w.Body)
			}
			// Only the key the sender used opens the reply.
			reply, _ := openReply(t, w.Body.Bytes(), tt.sender, testToken)
			if reply.Text != "ok" {
				t.Errorf("reply %+v", reply)
			}
		})
	}
}

func TestWebhookLogging(t *testing.T) {
	const openID = "oKefuTestUser0000000000000A"
	tests := []struct {
		name        string
		level       slog.Level
		wantSecrets bool
	}{
		{"InfoHidesBodiesAndOpenIDs", slog.LevelInfo, false},
		{"DebugShowsThem", slog.LevelDebug, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: tt.level}))
			s := mustServer(t, Options{Logger: logger}, "人工客服电话95017")
			w := s.do("POST", signedQuery(testToken, "1", "2").Encode(), mustRead(t, "text.xml"))
			if w.Code != 200 {
				t.Fatalf("status %d", w.Code)
			}
			s.do("POST", "signature=bad", nil)
			out := buf.String()
			var access map[string]any
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				if m["level"] == "INFO" && m["status"] == float64(200) {
					access = m
				}
				if m["level"] == "INFO" {
					for k := range m {
						switch k {
						case "time", "level", "msg", "method", "status", "latency_ms", "open_id_hash":
						default:
							t.Errorf("info line has %q: %s", k, line)
						}
					}
				}
			}
			if access == nil || access["method"] != "POST" || access["open_id_hash"] != logid.Hash(openID) || access["latency_ms"] == nil {
				t.Errorf("access line %v in\n%s", access, out)
			}
			hasSecrets := strings.Contains(out, openID) || strings.Contains(out, "95017") || strings.Contains(out, "人工客服")
			if hasSecrets != tt.wantSecrets {
				t.Errorf("log shows bodies/openids = %v, want %v:\n%s", hasSecrets, tt.wantSecrets, out)
			}
		})
	}
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want query
	}{
		{"Empty", "", query{}},
		{"All", "signature=s&timestamp=t&nonce=n&echostr=e&encrypt_type=aes&msg_signature=m&openid=o",
			query{signature: "s", timestamp: "t", nonce: "n", echostr: "e", encryptType: "aes", msgSignature: "m"}},
		{"FirstWins", "nonce=1&nonce=2", query{nonce: "1"}},
		{"FirstEmptyWins", "nonce=&nonce=2", query{nonce: ""}},
		{"Escapes", "echostr=a%20b+c&n%6Fnce=x", query{echostr: "a b c", nonce: "x"}},
		{"BadEscapeSkipped", "nonce=%zz&nonce=ok", query{nonce: "ok"}},
		{"SemicolonSkipped", "nonce=a;b&timestamp=t", query{timestamp: "t"}},
		{"NoValue", "nonce&timestamp=", query{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseQuery(tt.raw)
			if got != tt.want {
				t.Errorf("parseQuery(%q) = %+v, want %+v", tt.raw, got, tt.want)
			}
			// Same answers as net/url for the keys it read.
			v, _ := url.ParseQuery(tt.raw)
			if v.Get("nonce") != got.nonce || v.Get("echostr") != got.echostr || v.Get("timestamp") != got.timestamp {
				t.Errorf("differs from url.ParseQuery: %v", v)
			}
		})
	}
}

// FuzzHandler sends random queries and bodies through the Gin handler,
// some of them correctly signed (and encrypted), and checks that it never
// panics, answers only 200/400/401/413, and that every 200 is well-formed.
func FuzzHandler(f *testing.F) {
	f.Add(uint8(0), "1714040000", "123", "", mustRead(f, "text.xml"))
	f.Add(uint8(2), "1714040000", "123", "", mustRead(f, "text.xml"))
	f.Add(uint8(3), "1714040000", "123", "", mustRead(f, "text.xml"))
	f.Add(uint8(7), "1", "2", "openid=x", mustRead(f, "event_click.xml"))
	f.Add(uint8(7), "1", "2", "", mustRead(f, "text_article.xml"))
	f.Add(uint8(3), "1409735669", "1320562132", "", mustRead(f, "vector_b_safe.xml"))
	f.Add(uint8(1|2|4|16), "1714040000", "123", "", mustRead(f, "voice_recognition.xml"))
	f.Add(uint8(1|2|4|32), "1714040000", "123", "", mustRead(f, "location.xml"))
	f.Add(uint8(8|2), "1", "2", "echostr=abc", []byte(nil))
	f.Add(uint8(1), "", "", "encrypt_type=aes&msg_signature=5d197aaffba7e9b25a30732f161a50dee96bd5fa", []byte("<xml><Encrypt>x</Encrypt></xml>"))
	f.Add(uint8(2), "1", "2", "encrypt_type=rot13", []byte("<xml/>"))
	f.Add(uint8(2), "1", "2", "", bytes.Repeat([]byte("<xml>"), 1000))

	c := mustCipher(f, testAppID, testKey)
	opts := aesOptions(testKey2, testKey)
	opts.MaxBody = 4096
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.Now = func() time.Time { return time.Unix(testNow, 0) }
	h, err := NewHandler(opts, ResponderFunc(func(_ context.Context, in bot.Inbound) bot.Reply {
		return bot.Reply{Text: in.Text}
	}))
	if err != nil {
		f.Fatal(err)
	}
	e := gin.New()
	h.Register(e)

	f.Fuzz(func(t *testing.T, flags uint8, ts, nonce, extra string, body []byte) {
		aes, sign, seal, get := flags&1 != 0, flags&2 != 0, flags&4 != 0, flags&8 != 0
		onlyMsgSig, compatible := flags&16 != 0, flags&32 != 0
		q := url.Values{}
		if aes {
			q.Set("encrypt_type", "aes")
		}
		if sign {
			q.Set("timestamp", ts)
			q.Set("nonce", nonce)
			q.Set("signature", Signature(testToken, ts, nonce))
		}
		if aes && seal && !get {
			enc, err := c.Encrypt(body, 0)
			if err != nil {
				t.Fatal(err)
			}
			envelope := []byte("<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>")
			if compatible {
				// The plaintext fields and the ciphertext side by side.
				envelope = bytes.Replace(body, []byte("</xml>"), []byte("<Encrypt><![CDATA["+enc+"]]></Encrypt></xml>"), 1)
			}
			body = envelope
			if sign {
				q.Set("msg_signature", MsgSignature(testToken, ts, nonce, enc))
				if onlyMsgSig {
					q.Del("signature")
				}
			}
		}
		raw := q.Encode()
		if extra != "" {
			raw += "&" + extra
		}
		method := http.MethodPost
		if get {
			method = http.MethodGet
		}
		req, err := http.NewRequest(method, "http://127.0.0.1/wechat", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.URL.RawQuery = raw
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		switch w.Code {
		case 200, 400, 401, 413:
		default:
			t.Fatalf("status %d for %q %q", w.Code, raw, body)
		}
		if w.Code != 200 || get || w.Body.String() == "success" {
			return
		}
		if !aes {
			if _, err := ParseMessage(w.Body.Bytes()); err != nil {
				t.Fatalf("plain reply %q: %v", w.Body, err)
			}
			return
		}
		pq := parseQuery(raw)
		_, env := openReply(t, w.Body.Bytes(), c, testToken)
		if env.Nonce != pq.nonce || env.TimeStamp != strconv.Itoa(testNow) {
			t.Fatalf("reply nonce %q, timestamp %q; request nonce %q", env.Nonce, env.TimeStamp, pq.nonce)
		}
	})
}

// TestPlaintextRefusedInSafeMode checks that a server with AES keys refuses
// a correctly signed plaintext POST (its signature does not cover the
// body), unless told to accept plaintext.
func TestPlaintextRefusedInSafeMode(t *testing.T) {
	q := signedQuery(testToken, "1714040000", "1320562132")
	q.Set("openid", "oKefuTestUser0000000000000A")
	for _, tt := range []struct {
		name  string
		allow bool
		want  int
	}{
		{"Refused", false, http.StatusUnauthorized},
		{"AllowPlaintext", true, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := aesOptions()
			opts.AllowPlaintext = tt.allow
			s := mustServer(t, opts, "您好")
			if w := s.do(http.MethodPost, q.Encode(), mustRead(t, "text.xml")); w.Code != tt.want {
				t.Errorf("status %d, want %d: %q", w.Code, tt.want, w.Body)
			}
			if n := len(s.resp.calls()); (n == 1) != (tt.want == http.StatusOK) {
				t.Errorf("responder called %d times", n)
			}
		})
	}
}
