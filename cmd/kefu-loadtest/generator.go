package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kefuhq/kefu/bot/wechat"
)

// requestTimeout is how long WeChat waits for an answer.
const requestTimeout = 5 * time.Second

// generator simulates the WeChat platform sending users' messages.
type generator struct {
	cfg    config
	target string
	cipher *wechat.Cipher // nil in plain mode
	client *http.Client
	// strict also checks what only a real server gets right: the reply is
	// addressed to the sender and echoes the request nonce (the floor's
	// reply is fixed).
	strict bool
	log    io.Writer // progress and the first few errors

	msgID  atomic.Uint64 // the last MsgId sent
	sent   atomic.Int64
	failed atomic.Int64
}

func newGenerator(cfg config, target string, log io.Writer) (*generator, error) {
	g := &generator{cfg: cfg, target: target, strict: !cfg.floor, log: &lockedWriter{w: log}}
	if cfg.mode == "aes" {
		c, err := wechat.NewCipher([]string{cfg.aesKey}, cfg.appID)
		if err != nil {
			return nil, err
		}
		g.cipher = c
	}
	g.client = &http.Client{
		Timeout: requestTimeout,
		Transport: &http.Transport{
			Proxy:                 nil, // loopback only, never through a proxy
			DialContext:           (&net.Dialer{Timeout: requestTimeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:          cfg.users + 8,
			MaxIdleConnsPerHost:   cfg.users + 8,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: requestTimeout,
			DisableCompression:    true,
		},
	}
	// MsgIds are 64-bit; start at a random point so runs do not collide in
	// a server's dedupe store.
	g.msgID.Store(rand.Uint64() >> 2)
	return g, nil
}

// lockedWriter serialises writes from the users and the reporter.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// result is the outcome of a run.
type result struct {
	latencies []time.Duration // of the requests in the measured window
	// classes holds, for each of latencies, what the message did:
	// classQuestion, classNonsense or classHandoff.
	classes []string
	window  time.Duration
	total   int64 // requests completed, warm-up included
	errors  int64 // failed or invalid, warm-up included
}

// summary is the final line: throughput=N/s p50_ms=A p99_ms=B max_ms=C errors=E.
func (r result) summary() string {
	lat := slices.Clone(r.latencies)
	slices.Sort(lat)
	var p50, p99, maxLat time.Duration
	if n := len(lat); n > 0 {
		p50, p99, maxLat = lat[rank(n, 0.50)], lat[rank(n, 0.99)], lat[n-1]
	}
	var tput int64
	if r.window > 0 {
		tput = int64(float64(len(lat)) / r.window.Seconds())
	}
	return fmt.Sprintf("throughput=%d/s p50_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d", tput, millis(p50), millis(p99), millis(maxLat), r.errors)
}

// What a measured message did, by its kind and its reply.
const (
	classQuestion = "question" // a question for the knowledge base, not handed off
	classNonsense = "nonsense" // a message no article answers, not handed off
	classHandoff  = "handoff"  // the reply announced a ticket
)

// byClass is a line of the latencies of each class of message:
// class=NAME n=N p50_ms=A p99_ms=B, separated by " | ". It shows where the
// tail comes from (a handoff writes a ticket; a question only a session).
func (r result) byClass() string {
	lats := map[string][]time.Duration{}
	for i, c := range r.classes {
		lats[c] = append(lats[c], r.latencies[i])
	}
	var parts []string
	for _, c := range []string{classQuestion, classNonsense, classHandoff} {
		lat := lats[c]
		if len(lat) == 0 {
			continue
		}
		slices.Sort(lat)
		parts = append(parts, fmt.Sprintf("class=%s n=%d p50_ms=%.2f p99_ms=%.2f", c, len(lat),
			millis(lat[rank(len(lat), 0.50)]), millis(lat[rank(len(lat), 0.99)])))
	}
	return strings.Join(parts, " | ")
}

// millis is d in milliseconds.
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// rank is the nearest-rank index of quantile q in n sorted values.
func rank(n int, q float64) int {
	i := int(float64(n)*q+0.999999999) - 1
	return min(max(i, 0), n-1)
}

// run drives the target until the warm-up and duration are over (or ctx
// ends) and returns the figures, printing progress every second.
func (g *generator) run(ctx context.Context) result {
	start := time.Now()
	measureFrom := start.Add(g.cfg.warmup)
	end := measureFrom.Add(g.cfg.duration)
	runCtx, cancel := context.WithDeadline(ctx, end)
	defer cancel()

	done := make(chan struct{})
	var reporter sync.WaitGroup
	reporter.Go(func() { g.report(done, start) })

	var wg sync.WaitGroup
	perUser := make([]result, g.cfg.users)
	for i := range g.cfg.users {
		wg.Go(func() { perUser[i] = g.user(runCtx, i, measureFrom, end) })
	}
	wg.Wait()
	close(done)
	reporter.Wait()
	g.client.CloseIdleConnections()

	var res result
	for _, u := range perUser {
		res.latencies = append(res.latencies, u.latencies...)
		res.classes = append(res.classes, u.classes...)
	}
	res.window = min(time.Since(measureFrom), g.cfg.duration)
	if res.window < 0 {
		res.window = 0
	}
	res.total, res.errors = g.sent.Load(), g.failed.Load()
	return res
}

// report prints a progress line every second until done is closed.
func (g *generator) report(done <-chan struct{}, start time.Time) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var last int64
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			sent := g.sent.Load()
			fmt.Fprintf(g.log, "[%4.0fs] requests=%d rate=%d/s errors=%d\n", now.Sub(start).Seconds(), sent, sent-last, g.failed.Load())
			last = sent
		}
	}
}

// user is one simulated user slot: it sends a message, waits for the
// answer, and sends the next, until ctx ends. After a reply announcing a
// ticket (a request for a person, urgent content, the third failed turn)
// that user waits for a person and the slot goes on as a new user, as real
// traffic is mostly people talking to the bot. It returns the latencies,
// and classes, of the requests that started and ended inside
// [measureFrom, end].
func (g *generator) user(ctx context.Context, n int, measureFrom, end time.Time) result {
	rng := rand.New(rand.NewPCG(uint64(n), rand.Uint64()))
	generation := 0
	openID := userID(n, generation)
	var out result
	var body bytes.Buffer
	for ctx.Err() == nil {
		text, kind := pickMessage(rng)
		sender := openID
		req, nonce, err := g.newRequest(ctx, sender, text, rng)
		if err != nil {
			g.failed.Add(1)
			return out
		}
		began := time.Now()
		resp, err := g.client.Do(req)
		if err == nil {
			body.Reset()
			_, err = body.ReadFrom(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
		}
		took := time.Since(began)
		if ctx.Err() != nil && (err != nil || time.Now().After(end)) {
			return out // cut off by the end of the run: not the server's fault
		}
		g.sent.Add(1)
		class := classQuestion
		if kind == kindNonsense {
			class = classNonsense
		}
		if err == nil {
			var reply string
			reply, err = g.check(resp.StatusCode, body.Bytes(), sender, nonce)
			if handedOff(reply) {
				class = classHandoff
				generation++
				openID = userID(n, generation)
			}
		}
		if err != nil {
			if g.failed.Add(1) <= 5 {
				fmt.Fprintf(g.log, "error: %v\n", err)
			}
			continue
		}
		if !began.Before(measureFrom) {
			out.latencies = append(out.latencies, took)
			out.classes = append(out.classes, class)
		}
	}
	return out
}

// handedOff reports whether a reply announces a ticket (工单号 T…, or
// ticket T… in English): that user now waits for a person. The bare word
// 工单号 is not enough: an answer may explain what a ticket number is.
func handedOff(reply string) bool {
	return strings.Contains(reply, "工单号 T") || strings.Contains(reply, "ticket T")
}

// userID is the openid of the generation-th user of slot n: 28
// characters, like a real OpenID.
func userID(n, generation int) string {
	return fmt.Sprintf("oKefuLoad%09d%010d", n, generation)
}

// newRequest builds one signed (and in aes mode encrypted) text message
// from openID, as the platform sends it, and returns it with its nonce.
func (g *generator) newRequest(ctx context.Context, openID, text string, rng *rand.Rand) (*http.Request, string, error) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	nonce := strconv.FormatUint(rng.Uint64N(1e10), 10)
	msg := make([]byte, 0, 256+len(text))
	msg = append(msg, "<xml><ToUserName><![CDATA["...)
	msg = append(msg, g.cfg.account...)
	msg = append(msg, "]]></ToUserName><FromUserName><![CDATA["...)
	msg = append(msg, openID...)
	msg = append(msg, "]]></FromUserName><CreateTime>"...)
	msg = append(msg, ts...)
	msg = append(msg, "</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA["...)
	msg = append(msg, text...)
	msg = append(msg, "]]></Content><MsgId>"...)
	msg = strconv.AppendUint(msg, g.msgID.Add(1), 10)
	msg = append(msg, "</MsgId></xml>"...)

	query := "signature=" + wechat.Signature(g.cfg.token, ts, nonce) + "&timestamp=" + ts + "&nonce=" + nonce + "&openid=" + openID
	body := msg
	if g.cipher != nil {
		enc, err := g.cipher.Encrypt(msg, 0)
		if err != nil {
			return nil, "", err
		}
		query += "&encrypt_type=aes&msg_signature=" + wechat.MsgSignature(g.cfg.token, ts, nonce, enc)
		body = []byte("<xml><ToUserName><![CDATA[" + g.cfg.account + "]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.target+"?"+query, bytes.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Content-Type", "text/xml")
	return req, nonce, nil
}

// check validates one response as the platform would: HTTP 200 and either
// "success" (or an empty body) or a well-formed passive reply; in aes mode
// the reply's MsgSignature must verify and it must decrypt for our AppID.
func (g *generator) check(status int, body []byte, openID, nonce string) (text string, err error) {
	if status != http.StatusOK {
		return "", fmt.Errorf("HTTP %d: %.80q", status, body)
	}
	if len(body) == 0 || string(body) == "success" {
		return "", nil
	}
	reply := body
	if g.cipher != nil {
		env, err := wechat.ParseEnvelope(body)
		if err != nil {
			return "", fmt.Errorf("reply envelope: %w", err)
		}
		if len(env.TimeStamp) != 10 {
			return "", fmt.Errorf("reply TimeStamp %q is not Unix seconds", env.TimeStamp)
		}
		if !wechat.CheckMsgSignature(env.MsgSignature, g.cfg.token, env.TimeStamp, env.Nonce, env.Encrypt) {
			return "", errors.New("reply MsgSignature does not verify")
		}
		if g.strict && env.Nonce != nonce {
			return "", fmt.Errorf("reply Nonce %q, want the request's %q", env.Nonce, nonce)
		}
		if reply, _, err = g.cipher.Decrypt(env.Encrypt); err != nil {
			return "", fmt.Errorf("reply: %w", err)
		}
	}
	in, err := wechat.ParseMessage(reply)
	if err != nil {
		return "", fmt.Errorf("reply XML: %w", err)
	}
	if in.Kind == "" {
		return "", errors.New("reply without MsgType")
	}
	if g.strict && (in.AccountID != openID || in.OpenID != g.cfg.account) {
		return "", fmt.Errorf("reply addressed to %q from %q", in.AccountID, in.OpenID)
	}
	return in.Text, nil
}
