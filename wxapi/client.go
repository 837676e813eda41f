package wxapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kefuhq/kefu/internal/logid"
)

// DefaultBaseURL is the WeChat API host used when Options.BaseURL is empty.
const DefaultBaseURL = "https://api.weixin.qq.com"

const (
	// defaultTimeout bounds one HTTP exchange with the default HTTPClient.
	defaultTimeout = 10 * time.Second
	// maxResponseBytes caps what is read of any API answer; real answers
	// are a few hundred bytes.
	maxResponseBytes = 1 << 20
	// busyAttempts is how many times a call answered -1 (system busy) is
	// tried in all, waiting busyBase, 2×busyBase, … (with jitter) between.
	busyAttempts = 3
	busyBase     = 200 * time.Millisecond
	// tokenMargin is how long before its expiry a token stops being used.
	tokenMargin = 300 * time.Second
	// maxTokenTTL bounds a cached token's life whatever expires_in says.
	maxTokenTTL = 24 * time.Hour
	// forceRefreshGap is the platform's minimum gap between two stable_token
	// calls with force_refresh (which are also limited to 20 a day).
	forceRefreshGap = 30 * time.Second
)

// Options configures a Client. AppID and AppSecret are required.
type Options struct {
	// BaseURL is the API root, DefaultBaseURL when empty. Tests point it
	// at wxapitest.Server.URL().
	BaseURL string
	// AppID and AppSecret are the account's developer credentials.
	AppID, AppSecret string
	// Stable selects POST /cgi-bin/stable_token instead of GET
	// /cgi-bin/token. Prefer it when several instances share the token: a
	// stable fetch does not invalidate the token the others hold.
	Stable bool
	// HTTPClient sends the requests; by default a client with a 10 s
	// timeout. Cancel the context to give up sooner.
	HTTPClient *http.Client
	// Tokens caches the access_token; by default a process-local cache,
	// which is right only for a single instance.
	Tokens TokenCache
	// Logger receives token refreshes and retries; message text and raw
	// openids are never logged. Discarded by default.
	Logger *slog.Logger
	// Now is the clock, time.Now by default.
	Now func() time.Time
	// Sleep waits between busy retries; it must return ctx.Err() when ctx
	// ends first. By default a timer; tests inject one that returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client calls the WeChat server API on behalf of one official account.
// It is safe for concurrent use.
type Client struct {
	base   string
	appID  string
	secret string
	stable bool
	http   *http.Client
	tokens TokenCache
	log    *slog.Logger
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error

	// fetching is a one-slot semaphore: whoever holds it fetches the
	// token while the other callers of this process wait, then reuse the
	// cached result. A channel rather than a mutex so waiting honours ctx.
	fetching chan struct{}
	// lastForce is when stable_token was last called with force_refresh;
	// guarded by fetching.
	lastForce time.Time
}

// New returns a Client for the account described by opts.
func New(opts Options) (*Client, error) {
	if opts.AppID == "" {
		return nil, errors.New("wxapi: AppID is required")
	}
	if opts.AppSecret == "" {
		return nil, errors.New("wxapi: AppSecret is required")
	}
	base := strings.TrimRight(opts.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("wxapi: BaseURL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("wxapi: BaseURL %q: want http(s)://host[/path]", base)
	}
	c := &Client{
		base:     base,
		appID:    opts.AppID,
		secret:   opts.AppSecret,
		stable:   opts.Stable,
		http:     opts.HTTPClient,
		tokens:   opts.Tokens,
		log:      opts.Logger,
		now:      opts.Now,
		sleep:    opts.Sleep,
		fetching: make(chan struct{}, 1),
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: defaultTimeout}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.tokens == nil {
		c.tokens = &localTokens{now: c.now}
	}
	if c.sleep == nil {
		c.sleep = sleepContext
	}
	return c, nil
}

// SendText sends a text customer-service message (message/custom/send).
// It works only inside the window the user's last interaction opened
// (ErrWindowClosed, ErrQuotaExhausted otherwise). A rejected token is
// replaced and the send retried once; -1 is retried with backoff; any other
// errcode comes back as an *APIError. NotSent tells whether a failed send
// certainly did not reach the user.
func (c *Client) SendText(ctx context.Context, openID, text string) error {
	if openID == "" {
		return notSent(errors.New("wxapi: send text: empty openid"))
	}
	if text == "" {
		return notSent(errors.New("wxapi: send text: empty text"))
	}
	type textBody struct {
		Content string `json:"content"`
	}
	msg := struct {
		ToUser  string   `json:"touser"`
		MsgType string   `json:"msgtype"`
		Text    textBody `json:"text"`
	}{openID, "text", textBody{text}}
	return c.call(ctx, "send text", "/cgi-bin/message/custom/send", openID, msg)
}

// Typing shows ("Typing") or hides ("CancelTyping") the typing indicator in
// the user's chat (message/custom/typing), under the same window rules as
// SendText.
func (c *Client) Typing(ctx context.Context, openID string, on bool) error {
	if openID == "" {
		return errors.New("wxapi: typing: empty openid")
	}
	cmd := "CancelTyping"
	if on {
		cmd = "Typing"
	}
	msg := struct {
		ToUser  string `json:"touser"`
		Command string `json:"command"`
	}{openID, cmd}
	return c.call(ctx, "typing", "/cgi-bin/message/custom/typing", openID, msg)
}

// AccessToken returns a live access_token: the cached one, or a new one
// fetched (once per process however many callers ask at the same time) and
// cached until 300 s before it expires.
func (c *Client) AccessToken(ctx context.Context) (string, error) {
	tok, err := c.token(ctx)
	if err != nil {
		return "", fmt.Errorf("wxapi: access_token: %w", err)
	}
	return tok, nil
}

func (c *Client) token(ctx context.Context) (string, error) {
	if tok, ok := c.cached(ctx); ok {
		return tok, nil
	}
	return c.renew(ctx, "")
}

// call POSTs payload as JSON to path with the access_token, retrying as
// SendText documents.
func (c *Client) call(ctx context.Context, op, path, openID string, payload any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // Chinese text and <>& go as they are
	if err := enc.Encode(payload); err != nil {
		return notSent(fmt.Errorf("wxapi: %s: encode: %w", op, err))
	}
	body := buf.Bytes()

	tok, err := c.token(ctx)
	if err != nil {
		return notSent(fmt.Errorf("wxapi: %s: access_token: %w", op, err))
	}
	refreshed := false
	for {
		err = c.retryBusy(ctx, op, func() error {
			var res apiResult
			if err := c.roundTrip(ctx, http.MethodPost, c.apiURL(path, tok), body, &res); err != nil {
				return err
			}
			return res.err()
		})
		var ae *APIError
		if !refreshed && errors.As(err, &ae) && isTokenCode(ae.Code) {
			refreshed = true
			c.log.WarnContext(ctx, "wxapi: access_token rejected, fetching a new one",
				"op", op, "errcode", ae.Code, "open_id_hash", logid.Hash(openID))
			if tok, err = c.renew(ctx, tok); err != nil {
				return notSent(fmt.Errorf("wxapi: %s: access_token: %w", op, err))
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("wxapi: %s: %w", op, err)
		}
		c.log.DebugContext(ctx, "wxapi: sent", "op", op, "open_id_hash", logid.Hash(openID))
		return nil
	}
}

// retryBusy runs attempt until it succeeds, fails with anything but -1, or
// busyAttempts tries are used, waiting with exponential backoff and jitter
// between tries.
func (c *Client) retryBusy(ctx context.Context, op string, attempt func() error) error {
	for n := 1; ; n++ {
		err := attempt()
		var ae *APIError
		if n >= busyAttempts || !errors.As(err, &ae) || ae.Code != codeBusy {
			return err
		}
		d := backoff(n)
		c.log.WarnContext(ctx, "wxapi: system busy, retrying", "op", op, "attempt", n, "wait_ms", d.Milliseconds())
		if err := c.sleep(ctx, d); err != nil {
			return notSent(err) // the last try was answered -1
		}
	}
}

// backoff is the wait after the n-th failed try: busyBase·2^(n−1), jittered
// to between half and all of it.
func backoff(n int) time.Duration {
	d := busyBase << (n - 1)
	return d/2 + rand.N(d/2+1)
}

// cached returns the cache's token when it is live. A cache that fails is
// logged and treated as empty, so WeChat stays reachable.
func (c *Client) cached(ctx context.Context) (string, bool) {
	tok, exp, err := c.tokens.Token(ctx, c.appID)
	switch {
	case err == nil:
		return tok, tok != "" && exp.After(c.now())
	case !errors.Is(err, ErrNoToken) && ctx.Err() == nil:
		c.log.WarnContext(ctx, "wxapi: token cache read failed", "err", err)
	}
	return "", false
}

// renew returns a token other than stale (the one WeChat just rejected;
// empty when there is none): whatever another caller cached meanwhile, or a
// freshly fetched one, which it caches. One caller per process fetches at a
// time.
func (c *Client) renew(ctx context.Context, stale string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	select {
	case c.fetching <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-c.fetching }()

	if tok, ok := c.cached(ctx); ok && tok != stale {
		return tok, nil
	}
	if stale != "" {
		if err := c.tokens.DeleteToken(ctx, c.appID); err != nil && ctx.Err() == nil {
			c.log.WarnContext(ctx, "wxapi: token cache delete failed", "err", err)
		}
	}
	tok, expiresIn, err := c.fetch(ctx, false)
	if err == nil && c.stable && stale != "" && tok == stale {
		// stable_token hands out the same token until it expires; only
		// force_refresh replaces a token WeChat says is bad.
		if now := c.now(); now.Sub(c.lastForce) >= forceRefreshGap {
			c.lastForce = now
			tok, expiresIn, err = c.fetch(ctx, true)
		}
	}
	if err != nil {
		return "", err
	}
	ttl := tokenTTL(expiresIn)
	if ttl <= 0 {
		c.log.WarnContext(ctx, "wxapi: access_token has no usable expires_in, not caching it", "expires_in", expiresIn)
		return tok, nil
	}
	if err := c.tokens.SetToken(ctx, c.appID, tok, c.now().Add(ttl)); err != nil && ctx.Err() == nil {
		c.log.WarnContext(ctx, "wxapi: token cache write failed", "err", err)
	}
	c.log.InfoContext(ctx, "wxapi: fetched access_token", "stable", c.stable, "expires_in", expiresIn, "cached_s", int64(ttl/time.Second))
	return tok, nil
}

// tokenTTL is how long to cache a token WeChat says lives expiresIn
// seconds: 300 s less, or half of it when it is that short. Zero means do
// not cache.
func tokenTTL(expiresIn int64) time.Duration {
	if expiresIn <= 0 {
		return 0
	}
	d := min(time.Duration(expiresIn)*time.Second, maxTokenTTL)
	if d > tokenMargin {
		return d - tokenMargin
	}
	return d / 2
}

// fetch asks WeChat for a token (retrying -1 like any call).
func (c *Client) fetch(ctx context.Context, force bool) (string, int64, error) {
	var res tokenResult
	err := c.retryBusy(ctx, "fetch access_token", func() error {
		res = tokenResult{}
		var err error
		if c.stable {
			body, _ := json.Marshal(struct {
				GrantType    string `json:"grant_type"`
				AppID        string `json:"appid"`
				Secret       string `json:"secret"`
				ForceRefresh bool   `json:"force_refresh"`
			}{"client_credential", c.appID, c.secret, force})
			err = c.roundTrip(ctx, http.MethodPost, c.base+"/cgi-bin/stable_token", body, &res)
		} else {
			q := url.Values{"grant_type": {"client_credential"}, "appid": {c.appID}, "secret": {c.secret}}
			err = c.roundTrip(ctx, http.MethodGet, c.base+"/cgi-bin/token?"+q.Encode(), nil, &res)
		}
		if err != nil {
			return err
		}
		return res.err()
	})
	if err != nil {
		return "", 0, err
	}
	if res.AccessToken == "" {
		return "", 0, errors.New("answer has no access_token")
	}
	return res.AccessToken, res.ExpiresIn, nil
}

// apiResult is the errcode part every API answer has.
type apiResult struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func (r apiResult) err() error {
	if r.ErrCode == 0 {
		return nil
	}
	return &APIError{Code: r.ErrCode, Msg: r.ErrMsg}
}

type tokenResult struct {
	apiResult
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

func (c *Client) apiURL(path, token string) string {
	return c.base + path + "?access_token=" + url.QueryEscape(token)
}

// roundTrip sends one request and decodes the JSON answer into out. Errors
// never carry the URL's query (it holds the token or the secret). An error
// from before the request was fully written is marked notSent.
func (c *Client) roundTrip(ctx context.Context, method, rawURL string, body []byte, out any) error {
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) { wrote.Store(i.Err == nil) },
	})
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return redact(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if !wrote.Load() {
			return notSent(redact(err))
		}
		return redact(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, stripQuery(rawURL), redact(err))
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: HTTP %s", method, stripQuery(rawURL), resp.Status)
	}
	if len(data) > maxResponseBytes {
		return fmt.Errorf("%s %s: answer larger than %d bytes", method, stripQuery(rawURL), maxResponseBytes)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, stripQuery(rawURL), err)
	}
	return nil
}

// redact removes the query from the URL a *url.Error quotes, keeping what
// it wraps (context.Canceled, timeouts) reachable by errors.Is.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: stripQuery(ue.URL), Err: ue.Err}
	}
	return err
}

func stripQuery(raw string) string {
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		return raw[:i]
	}
	return raw
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
