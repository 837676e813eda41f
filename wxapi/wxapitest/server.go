// Package wxapitest is a fake of the WeChat server API for tests: the
// access_token endpoints and the customer-service message API, recording
// what was sent. Point the code under test at Server.URL() (for kefu,
// KEFU_WECHAT_API_BASE or wxapi.Options.BaseURL).
//
// Besides the WeChat endpoints it serves a few control endpoints, used by
// out-of-process drivers (the e2e test's Node driver, cmd/fakewechat):
//
//	GET  /_sent?openid=O&after=N&wait=5s  JSON array of recorded messages (to O
//	                                      if given); with wait, blocks up to
//	                                      that long until there are more than N
//	POST /_fail?code=C&times=N            FailNext(C, N)
//	POST /_invalidate                     InvalidateTokens()
//	GET  /_stats                          {"token_fetches":…,"send_attempts":…}
package wxapitest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"
)

// Credentials the server accepts until SetCredentials changes them.
const (
	AppID     = "wx00000000fake0001"
	AppSecret = "00000000000000000000000000fake01"
)

// TokenLifetime is the expires_in the token endpoints answer.
const TokenLifetime = 7200 * time.Second

// oldTokenGrace is how long a token stays valid after /cgi-bin/token issued
// a newer one, as on the real platform.
const oldTokenGrace = 5 * time.Minute

// maxBody caps the request bodies the fake reads.
const maxBody = 1 << 20

// SentMessage is one customer-service message the fake accepted.
type SentMessage struct {
	OpenID  string    `json:"open_id"`
	MsgType string    `json:"msg_type"`
	Text    string    `json:"text"` // text.content for msgtype text
	At      time.Time `json:"at"`
}

// TypingCommand is one accepted message/custom/typing call.
type TypingCommand struct {
	OpenID  string    `json:"open_id"`
	Command string    `json:"command"` // Typing or CancelTyping
	At      time.Time `json:"at"`
}

// Server is a fake WeChat API on a local port. It is safe for concurrent
// use.
type Server struct {
	ts     *httptest.Server
	closed chan struct{}
	once   sync.Once

	mu           sync.Mutex
	appID        string
	secret       string
	tokens       map[string]time.Time // issued token → when it stops working
	stable       string               // current stable_token
	fetches      int
	sendAttempts int
	failures     []failure
	sent         []SentMessage
	typing       []TypingCommand
	delay        time.Duration
	changed      chan struct{} // closed and replaced whenever sent grows
}

type failure struct {
	code  int
	times int
}

// NewServer starts a fake on a random loopback port. Close it when done.
func NewServer() *Server {
	s := newServer()
	s.ts = httptest.NewServer(s.handler())
	return s
}

// NewServerListener starts a fake serving on l (cmd/fakewechat uses it to
// listen on a chosen address). Close it when done.
func NewServerListener(l net.Listener) *Server {
	s := newServer()
	s.ts = httptest.NewUnstartedServer(s.handler())
	s.ts.Listener.Close()
	s.ts.Listener = l
	s.ts.Start()
	return s
}

func newServer() *Server {
	return &Server{
		closed:  make(chan struct{}),
		appID:   AppID,
		secret:  AppSecret,
		tokens:  make(map[string]time.Time),
		changed: make(chan struct{}),
	}
}

// URL is the base URL to give the client, like "http://127.0.0.1:41234".
func (s *Server) URL() string { return s.ts.URL }

// Close stops the server, ending pending delays and waits.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closed) })
	s.ts.Close()
}

// SetCredentials changes the appid and secret the token endpoints accept.
func (s *Server) SetCredentials(appID, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appID, s.secret = appID, secret
}

// Sent returns the customer-service messages accepted so far, oldest first.
func (s *Server) Sent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentMessage(nil), s.sent...)
}

// Typing returns the typing commands accepted so far, oldest first.
func (s *Server) Typing() []TypingCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]TypingCommand(nil), s.typing...)
}

// WaitSent waits until at least n messages were accepted and returns all
// of them, or returns ctx's error with what was accepted so far.
func (s *Server) WaitSent(ctx context.Context, n int) ([]SentMessage, error) {
	return s.waitSent(ctx, "", n)
}

// WaitSentTo is WaitSent counting only the messages to openID.
func (s *Server) WaitSentTo(ctx context.Context, openID string, n int) ([]SentMessage, error) {
	return s.waitSent(ctx, openID, n)
}

func (s *Server) waitSent(ctx context.Context, openID string, n int) ([]SentMessage, error) {
	for {
		s.mu.Lock()
		msgs := s.sentToLocked(openID)
		changed := s.changed
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return msgs, fmt.Errorf("wxapitest: %d of %d messages sent: %w", len(msgs), n, ctx.Err())
		case <-s.closed:
			return msgs, fmt.Errorf("wxapitest: %d of %d messages sent: server closed", len(msgs), n)
		}
	}
}

func (s *Server) sentToLocked(openID string) []SentMessage {
	var out []SentMessage
	for _, m := range s.sent {
		if openID == "" || m.OpenID == openID {
			out = append(out, m)
		}
	}
	return out
}

// FailNext makes the next times calls of the message endpoints (send and
// typing) answer errcode code, before the token is even checked. Calls
// queue up: FailNext(-1, 2) then FailNext(45015, 1) fails three calls.
func (s *Server) FailNext(code, times int) {
	if times <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{code, times})
}

// InvalidateTokens makes every token issued so far answer 40001, as when
// another process fetched with the same secret long enough ago.
func (s *Server) InvalidateTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
	s.stable = ""
}

// ExpireTokens makes every token issued so far answer 42001 (expired).
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := time.Now().Add(-time.Second)
	for tok := range s.tokens {
		s.tokens[tok] = past
	}
	s.stable = ""
}

// TokenFetches counts the calls of both token endpoints.
func (s *Server) TokenFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// SendAttempts counts the calls of message/custom/send, failed ones
// included.
func (s *Server) SendAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sendAttempts
}

// SetDelay makes every WeChat endpoint wait d before answering (or until
// the client gives up), to test timeouts and slow networks.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/token", s.wechat(s.handleToken))
	mux.HandleFunc("POST /cgi-bin/stable_token", s.wechat(s.handleStableToken))
	mux.HandleFunc("POST /cgi-bin/message/custom/send", s.wechat(s.handleSend))
	mux.HandleFunc("POST /cgi-bin/message/custom/typing", s.wechat(s.handleTyping))
	mux.HandleFunc("GET /_sent", s.handleSent)
	mux.HandleFunc("POST /_fail", s.handleFail)
	mux.HandleFunc("POST /_invalidate", func(w http.ResponseWriter, _ *http.Request) {
		s.InvalidateTokens()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_stats", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		stats := map[string]int{"token_fetches": s.fetches, "send_attempts": s.sendAttempts, "sent": len(s.sent)}
		s.mu.Unlock()
		writeJSON(w, stats)
	})
	return mux
}

// wechat wraps a WeChat endpoint: the configured delay, then the handler's
// answer as JSON with HTTP 200, as the platform answers errors too.
func (s *Server) wechat(h func(r *http.Request) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		d := s.delay
		s.mu.Unlock()
		if d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			case <-s.closed:
				t.Stop()
				return
			}
		}
		writeJSON(w, h(r))
	}
}

type errAnswer struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func answer(code int, msg string) errAnswer { return errAnswer{code, msg} }

var ok = answer(0, "ok")

type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

func (s *Server) handleToken(r *http.Request) any {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches++
	if e, bad := s.checkCredentialsLocked(q.Get("grant_type"), q.Get("appid"), q.Get("secret")); bad {
		return e
	}
	now := time.Now()
	for tok, exp := range s.tokens {
		if limit := now.Add(oldTokenGrace); exp.After(limit) && tok != s.stable {
			s.tokens[tok] = limit
		}
	}
	tok := newToken()
	s.tokens[tok] = now.Add(TokenLifetime)
	return tokenAnswer{tok, int64(TokenLifetime / time.Second)}
}

func (s *Server) handleStableToken(r *http.Request) any {
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches++
	if err != nil {
		return answer(47001, "data format error")
	}
	if e, bad := s.checkCredentialsLocked(req.GrantType, req.AppID, req.Secret); bad {
		return e
	}
	now := time.Now()
	exp, live := s.tokens[s.stable]
	if s.stable == "" || !live || !exp.After(now) || req.ForceRefresh {
		s.stable = newToken()
		exp = now.Add(TokenLifetime)
		s.tokens[s.stable] = exp
	}
	return tokenAnswer{s.stable, int64(exp.Sub(now) / time.Second)}
}

func (s *Server) checkCredentialsLocked(grantType, appID, secret string) (errAnswer, bool) {
	switch {
	case grantType != "client_credential":
		return answer(40002, "invalid grant_type"), true
	case appID != s.appID:
		return answer(40013, "invalid appid"), true
	case secret != s.secret:
		return answer(40125, "invalid appsecret"), true
	}
	return errAnswer{}, false
}

// messageCheckLocked applies an injected failure, then checks the token.
func (s *Server) messageCheckLocked(r *http.Request) (errAnswer, bool) {
	if len(s.failures) > 0 {
		f := &s.failures[0]
		code := f.code
		if f.times--; f.times == 0 {
			s.failures = s.failures[1:]
		}
		return answer(code, "injected by wxapitest"), true
	}
	tok := r.URL.Query().Get("access_token")
	exp, issued := s.tokens[tok]
	switch {
	case tok == "":
		return answer(41001, "access_token missing"), true
	case !issued:
		return answer(40001, "invalid credential, access_token is invalid or not latest"), true
	case !exp.After(time.Now()):
		return answer(42001, "access_token expired"), true
	}
	return errAnswer{}, false
}

func (s *Server) handleSend(r *http.Request) any {
	var req struct {
		ToUser  string `json:"touser"`
		MsgType string `json:"msgtype"`
		Text    *struct {
			Content string `json:"content"`
		} `json:"text"`
	}
	err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendAttempts++
	if e, bad := s.messageCheckLocked(r); bad {
		return e
	}
	switch {
	case err != nil:
		return answer(47001, "data format error")
	case req.ToUser == "":
		return answer(40003, "invalid openid")
	case req.MsgType == "":
		return answer(40008, "invalid message type")
	case req.MsgType == "text" && (req.Text == nil || req.Text.Content == ""):
		return answer(44004, "empty content")
	}
	m := SentMessage{OpenID: req.ToUser, MsgType: req.MsgType, At: time.Now()}
	if req.Text != nil {
		m.Text = req.Text.Content
	}
	s.sent = append(s.sent, m)
	close(s.changed)
	s.changed = make(chan struct{})
	return ok
}

func (s *Server) handleTyping(r *http.Request) any {
	var req struct {
		ToUser  string `json:"touser"`
		Command string `json:"command"`
	}
	err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, bad := s.messageCheckLocked(r); bad {
		return e
	}
	switch {
	case err != nil:
		return answer(47001, "data format error")
	case req.ToUser == "":
		return answer(40003, "invalid openid")
	case req.Command != "Typing" && req.Command != "CancelTyping":
		return answer(47001, "data format error")
	}
	s.typing = append(s.typing, TypingCommand{req.ToUser, req.Command, time.Now()})
	return ok
}

// maxWait caps the wait parameter of /_sent.
const maxWait = 30 * time.Second

func (s *Server) handleSent(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, _ := strconv.Atoi(q.Get("after"))
	msgs := s.Sent()
	if ws := q.Get("wait"); ws != "" {
		d, err := time.ParseDuration(ws)
		if err != nil {
			http.Error(w, "wait: "+err.Error(), http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), min(d, maxWait))
		msgs, _ = s.waitSent(ctx, q.Get("openid"), after+1)
		cancel()
	} else if o := q.Get("openid"); o != "" {
		s.mu.Lock()
		msgs = s.sentToLocked(o)
		s.mu.Unlock()
	}
	if msgs == nil {
		msgs = []SentMessage{}
	}
	writeJSON(w, msgs)
}

func (s *Server) handleFail(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	code, err1 := strconv.Atoi(q.Get("code"))
	times, err2 := strconv.Atoi(q.Get("times"))
	if err1 != nil || err2 != nil {
		http.Error(w, "want code and times, integers", http.StatusBadRequest)
		return
	}
	s.FailNext(code, times)
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// newToken returns a token shaped like WeChat's: long, URL-safe.
func newToken() string {
	b := make([]byte, 48)
	_, _ = rand.Read(b)
	return "fake_" + hex.EncodeToString(b)
}
