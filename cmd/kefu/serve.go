package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/auth/ginauth"
	"github.com/kefuhq/kefu/bot/wechat"
	"github.com/kefuhq/kefu/config"
	"github.com/kefuhq/kefu/handoff/handoffapi"
	"github.com/kefuhq/kefu/handoff/handoffsse"
	"github.com/kefuhq/kefu/handoff/handoffweb"
	"github.com/kefuhq/kefu/intents"
	"github.com/kefuhq/kefu/internal/apierr"
	"github.com/kefuhq/kefu/internal/webui"
	"github.com/kefuhq/kefu/kb/kbapi"
	"github.com/kefuhq/kefu/kb/kbweb"
)

// defaultToken is config's default KEFU_WECHAT_TOKEN, fine for trying kefu
// locally and never for a public server.
const defaultToken = "kefu"

// defaultGCPercent is the garbage collector's target (GOGC) of `kefu
// serve` when the environment sets none. kefu's live heap is small (the
// index, the caches: about 40 MB with the default knowledge base) and a
// busy bot allocates for every message, so the default of 100 spends a
// tenth of the CPU on collection. At 400, in alternating load test runs
// (AES, 24 users, 4 rounds), the server used 5–10% less CPU per message
// and answered 5–9% more, its peak RSS going from 87 to 150 MB.
const defaultGCPercent = 400

// setGCPercent applies defaultGCPercent unless GOGC is set: an operator's
// GOGC (or GOGC=off with GOMEMLIMIT) wins.
func setGCPercent(log *slog.Logger) {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	debug.SetGCPercent(defaultGCPercent)
	log.Debug("garbage collector target set", "gogc", defaultGCPercent)
}

// serve runs the HTTP server until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, cfg *config.Config, logw io.Writer) error {
	log := newLogger(cfg, logw)
	setGCPercent(log)
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.ensureAdmin(ctx); err != nil {
		return err
	}
	go a.watchKB(ctx)
	go a.sweep(ctx)
	a.reloadFlowsOnHUP(ctx)
	if cfg.AutoAssign {
		go a.autoAssign(ctx)
	}
	router, err := a.routes()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
	}
	srv := &http.Server{
		Handler:           router,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	srv.RegisterOnShutdown(a.live.Shutdown) // end the live-event streams
	if cfg.WeChatToken == defaultToken {
		log.Warn("KEFU_WECHAT_TOKEN is the default: anyone can sign messages; set your own Token before exposing /wechat")
	}
	mode := "plaintext"
	if len(cfg.WeChatAESKeys) > 0 {
		mode = "safe/compatible (aes)"
		if cfg.WeChatAllowPlaintext {
			mode += " and plaintext"
		}
	}
	log.Info("kefu serving", "addr", ln.Addr().String(), "webhook", "/wechat", "mode", mode,
		"kb_articles", a.router.Index().Len())
	if cfg.PprofAddr != "" {
		stop, err := servePprof(cfg.PprofAddr, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// Turns that missed their budget are still delivering through the
	// customer-service API: let them finish before the stores close.
	return a.engine.Close(shutdown)
}

// servePprof serves the Go profiler on its own listener, apart from the
// public routes.
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("KEFU_PPROF_ADDR %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	log.Warn("profiler listening: keep this address private", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}

// routes builds the HTTP handler: the webhook, the JSON API, the web
// pages, health and metrics.
func (a *app) routes() (http.Handler, error) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// Only the configured proxies may say who the client is (sign-in
	// limits per address rely on it); by default nobody may.
	if err := r.SetTrustedProxies(a.cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("KEFU_TRUSTED_PROXIES: %w", err)
	}
	r.Use(gin.Recovery(), accessLog(a.log), a.metrics.middleware())
	r.NoRoute(func(c *gin.Context) {
		if strings.HasPrefix(c.Request.URL.Path, "/api/") {
			apierr.Abort(c, http.StatusNotFound, "not_found", "no such API route")
			return
		}
		c.String(http.StatusNotFound, "404 page not found")
	})
	hook, err := wechat.NewHandler(wechat.Options{
		Token: a.cfg.WeChatToken, AppID: a.cfg.WeChatAppID, AESKeys: a.cfg.WeChatAESKeys,
		AllowPlaintext: a.cfg.WeChatAllowPlaintext, Budget: a.cfg.TurnBudget + 500*time.Millisecond, Logger: a.log,
	}, a.engine)
	if err != nil {
		return nil, err
	}
	hook.Register(r)
	r.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	r.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		if err := a.ping(ctx); err != nil {
			a.log.Error("not ready: store unreachable", "err", err)
			c.String(http.StatusServiceUnavailable, "store unreachable")
			return
		}
		c.String(http.StatusOK, "ready")
	})
	r.GET("/metrics", gin.WrapH(a.metrics.handler()))
	// The JSON API. Its other routes go behind accounts.Authenticate().
	api := r.Group("/api/v1")
	accounts, err := ginauth.New(ginauth.Options{Service: a.auth, Logger: a.log})
	if err != nil {
		return nil, err
	}
	accounts.Register(api)
	editors, err := kbapi.New(kbapi.Options{Editor: a.editor, Router: func() *intents.Router { return a.router }, Logger: a.log,
		Choices: a.articleChoices})
	if err != nil {
		return nil, err
	}
	editors.Register(api.Group("", accounts.Authenticate(), ginauth.Require(auth.PermEditKB)))
	// The tickets API of the agents' panel.
	var replies handoffapi.Sender // a nil *QuotaSender must stay a nil interface
	if a.replies != nil {
		replies = a.replies
	}
	agents, err := handoffapi.New(handoffapi.Options{Service: a.handoff, Sender: replies, Quota: a.quota,
		Accounts: a.auth, Presence: a.presence, Logger: a.log,
		Articles: handoffapi.CannedArticles(a.router.Index, a.editor.PublishedArticles)})
	if err != nil {
		return nil, err
	}
	agents.Register(api.Group("", accounts.Authenticate(), ginauth.Require(auth.PermServe)))
	// Live events for the panels (SSE); the stream keeps the agent's presence.
	a.live, err = handoffsse.New(handoffsse.Options{Events: a.events, Presence: a.presence, Logger: a.log})
	if err != nil {
		return nil, err
	}
	a.live.Register(api.Group("", accounts.Authenticate(), ginauth.Require(auth.PermServe)))
	// The cases of the self-service flows: their API and page.
	if err := a.casesRoutes(api.Group("", accounts.Authenticate(), ginauth.Require(auth.PermServe)), r); err != nil {
		return nil, err
	}
	// The web pages: the sign-in shell and the knowledge-base editor. They
	// use the JSON API above and nothing else.
	webui.Register(r)
	kbweb.Register(r)
	handoffweb.Register(r)
	// /panel: agents and admins to their panel, editors (and strangers, whom
	// the editor sends to sign in) to the knowledge-base editor.
	r.GET("/panel", handoffweb.Home(a.panelRole, kbweb.Path))
	return r, nil
}

// panelRole reports the role of the enabled account signed in on r by
// its session cookie, if any, for /panel to pick the page.
func (a *app) panelRole(r *http.Request) (auth.Role, bool) {
	ck, err := r.Cookie(ginauth.SessionCookie)
	if err != nil || ck.Value == "" {
		return "", false
	}
	acc, _, err := a.auth.Authenticate(r.Context(), ck.Value)
	if err != nil || acc.Disabled {
		return "", false
	}
	return acc.Role, true
}

// accessLog logs one line per request at info (5xx at error), without
// query strings: they carry signatures and openids.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelDebug
		if status >= 500 {
			level = slog.LevelError
		} else if status >= 400 {
			level = slog.LevelInfo
		}
		log.Log(c.Request.Context(), level, "http", "method", c.Request.Method, "path", c.Request.URL.Path,
			"status", status, "latency_ms", float64(time.Since(start).Microseconds())/1000)
	}
}
