package flows

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Backend runs a flow's actions in the business systems.
type Backend interface {
	// Do runs one action. A refusal (verification failed, not allowed) is
	// a Result with OK false; an error means the backend could not be
	// reached or failed, after retries.
	Do(ctx context.Context, req Request) (Result, error)
}

// Request is one action call.
type Request struct {
	Action string `json:"action"`
	Flow   string `json:"flow"`
	OpenID string `json:"open_id"`
	// IdempotencyKey is the same for every delivery of the same step of
	// the same run: the backend must act on it once.
	IdempotencyKey string            `json:"idempotency_key"`
	Fields         map[string]string `json:"fields"`
}

// Result is the backend's answer.
type Result struct {
	OK bool `json:"ok"`
	// Status is the case status the backend reports (submitted,
	// processing, resolved, rejected); empty = submitted.
	Status string `json:"status,omitempty"`
	// Reference is the backend's own id for what it did.
	Reference string `json:"reference,omitempty"`
	// Message is said to the user as {result}.
	Message string `json:"message,omitempty"`
	// Local is set when no backend acted and kefu only recorded the
	// submission.
	Local bool `json:"-"`
}

// Recorder is the backend of a fresh install: it acts on nothing and
// accepts every action, so the flow records its submission as a case for
// agents to work.
type Recorder struct{}

// Do accepts the action as submitted.
func (Recorder) Do(context.Context, Request) (Result, error) {
	return Result{OK: true, Status: "submitted", Local: true}, nil
}

// HTTPBackend calls one configured URL per action with a signed JSON body.
// Actions without a URL fall back to Recorder.
//
// Each call is a POST of the Request as JSON with the headers
// X-Kefu-Timestamp (Unix seconds), X-Kefu-Signature
// ("sha256=" + hex HMAC-SHA256 of timestamp + "." + body with the shared
// secret) and Idempotency-Key. A 2xx answer carries a Result as JSON
// (an empty body means OK); a 4xx answer is a refusal (its JSON message,
// if any, is shown to the user); a 5xx answer or a network error is
// retried, with backoff, within the timeout.
type HTTPBackend struct {
	URLs    map[string]string
	Secret  string
	Timeout time.Duration // whole call, retries included; 0 = 2.5 s
	Retries int           // after the first attempt; 0 = 2
	Client  *http.Client  // nil = a client without redirects
	Now     func() time.Time
}

// ParseActionURLs reads "action=https://…,other=https://…". Every URL
// must be https, or http to a loopback address (for local development).
func ParseActionURLs(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, raw, ok := strings.Cut(part, "=")
		name, raw = strings.TrimSpace(name), strings.TrimSpace(raw)
		if !ok || !actionPattern.MatchString(name) {
			return nil, fmt.Errorf("%q: want action=URL", part)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("action %s: given twice", name)
		}
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("action %s: %q is not a URL", name, raw)
		}
		if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
			return nil, fmt.Errorf("action %s: %q must be https (http only to localhost)", name, raw)
		}
		out[name] = raw
	}
	return out, nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}

// Sign returns the X-Kefu-Signature value of body sent at ts.
func Sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a request's signature and that its timestamp is within
// skew of now: what a business backend does with kefu's calls.
func Verify(secret, timestamp, signature string, body []byte, now time.Time, skew time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("flows: bad timestamp")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > skew || d < -skew {
		return errors.New("flows: timestamp outside the allowed skew")
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature)) {
		return errors.New("flows: bad signature")
	}
	return nil
}

// maxResultBytes bounds a backend's answer.
const maxResultBytes = 64 << 10

// Do calls the action's URL.
func (b *HTTPBackend) Do(ctx context.Context, req Request) (Result, error) {
	u, ok := b.URLs[req.Action]
	if !ok {
		return Recorder{}.Do(ctx, req)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return Result{}, err
	}
	timeout := b.Timeout
	if timeout == 0 {
		timeout = 2500 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	retries := b.Retries
	if retries == 0 {
		retries = 2
	}
	wait := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		res, retry, err := b.call(ctx, u, req.IdempotencyKey, body)
		if err == nil || !retry || attempt >= retries {
			if err != nil {
				return Result{}, fmt.Errorf("flows: action %s: %w", req.Action, err)
			}
			return res, nil
		}
		select {
		case <-ctx.Done():
			return Result{}, fmt.Errorf("flows: action %s: %w (last: %v)", req.Action, ctx.Err(), err)
		case <-time.After(wait):
		}
		wait *= 3
	}
}

// call makes one attempt; retry tells whether a failure may be retried.
func (b *HTTPBackend) call(ctx context.Context, u, key string, body []byte) (res Result, retry bool, err error) {
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	ts := now().Unix()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return Result{}, false, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Idempotency-Key", key)
	hreq.Header.Set("X-Kefu-Timestamp", strconv.FormatInt(ts, 10))
	hreq.Header.Set("X-Kefu-Signature", Sign(b.Secret, ts, body))
	client := b.Client
	if client == nil {
		client = noRedirects
	}
	resp, err := client.Do(hreq)
	if err != nil {
		return Result{}, ctx.Err() == nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResultBytes))
	if err != nil {
		return Result{}, true, err
	}
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return Result{}, true, fmt.Errorf("backend answered %s", resp.Status)
	case resp.StatusCode >= 400:
		_ = json.Unmarshal(data, &res) // a message, if any
		res.OK = false
		return res, false, nil
	case resp.StatusCode >= 300:
		return Result{}, false, fmt.Errorf("backend answered %s (redirects are not followed)", resp.Status)
	}
	res.OK = true
	if len(bytes.TrimSpace(data)) > 0 {
		var raw struct {
			OK *bool `json:"ok"`
			Result
		}
		if err := json.Unmarshal(data, &raw); err != nil {
			return Result{}, false, fmt.Errorf("backend answered %s with a body that is not a JSON result: %v", resp.Status, err)
		}
		res = raw.Result
		res.OK = raw.OK == nil || *raw.OK
	}
	return res, false, nil
}

// noRedirects is the default client: a signed call is never replayed to
// another URL.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}}
