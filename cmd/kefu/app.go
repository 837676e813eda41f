package main

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kefuhq/kefu/auth"
	authredis "github.com/kefuhq/kefu/auth/redisstore"
	authsqlite "github.com/kefuhq/kefu/auth/sqlitestore"
	"github.com/kefuhq/kefu/bot"
	botredis "github.com/kefuhq/kefu/bot/redisstore"
	botsqlite "github.com/kefuhq/kefu/bot/sqlitestore"
	"github.com/kefuhq/kefu/cases"
	"github.com/kefuhq/kefu/config"
	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/handoff/handoffsse"
	handoffredis "github.com/kefuhq/kefu/handoff/redisstore"
	handoffsqlite "github.com/kefuhq/kefu/handoff/sqlitestore"
	"github.com/kefuhq/kefu/intents"
	"github.com/kefuhq/kefu/intents/flows"
	"github.com/kefuhq/kefu/internal/sqlitedb"
	"github.com/kefuhq/kefu/kb"
	kbredis "github.com/kefuhq/kefu/kb/redisstore"
	"github.com/kefuhq/kefu/kb/semantic"
	kbsqlite "github.com/kefuhq/kefu/kb/sqlitestore"
	"github.com/kefuhq/kefu/wxapi"
	wxapiredis "github.com/kefuhq/kefu/wxapi/redisstore"
	wxapisqlite "github.com/kefuhq/kefu/wxapi/sqlitestore"
)

// app is kefu wired together: the stores the configuration selects and the
// services over them.
type app struct {
	cfg      *config.Config
	log      *slog.Logger
	sessions bot.SessionStore
	dedupe   bot.Deduper
	locks    bot.Locker
	tickets  handoff.Store
	events   handoff.Events   // live events for the panels
	presence handoff.Presence // agents with a panel open
	live     *handoffsse.Handler
	tokens   wxapi.TokenCache
	quotas   wxapi.QuotaStates // the store behind tokens; it also keeps each user's send window
	accounts auth.Store
	auth     *auth.Service
	kbStore  kb.Store
	kbNotify kb.Notifier
	editor   *kb.Editor
	kbRev    int64           // publish revision of the articles the router was built from
	semantic *semantic.Index // nil unless KEFU_EMBED_BASE_URL is set
	router   *intents.Router
	handoff  *handoff.Service
	cases    *cases.Service
	flows    *flows.Runner
	flowReg  atomic.Pointer[flows.Registry] // the flow definitions in use (reloaded on SIGHUP)
	lanes    handoff.Lanes
	wechat   *wxapi.Client // nil when no AppID/AppSecret is configured
	quota    *wxapi.Tracker
	replies  *wxapi.QuotaSender // agent replies; nil when wechat is nil
	engine   *bot.Engine
	metrics  *metrics
	ping     func(context.Context) error
	closers  []io.Closer
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// newApp opens the stores and builds the services.
func newApp(ctx context.Context, cfg *config.Config, log *slog.Logger) (*app, error) {
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if err := a.buildServices(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// openApp opens the stores and the knowledge-base editor (seeding an empty
// knowledge base), without the services: enough for offline commands.
func openApp(ctx context.Context, cfg *config.Config, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, log: log, metrics: newMetrics()}
	err := a.openStores(ctx)
	if err == nil {
		err = a.openEditor(ctx)
	}
	if err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// openEditor opens the knowledge base and, when it is empty, seeds it with
// KEFU_KB_FILE or the built-in default. It loads the lanes and the flow
// definitions too: a saved article must name configured ones.
func (a *app) openEditor(ctx context.Context) error {
	var err error
	if a.editor, err = kb.NewEditor(a.kbStore, a.kbNotify, nil); err != nil {
		return err
	}
	if a.lanes, err = handoff.NewLanes(mergeLanes(handoff.DefaultLanes(), a.cfg.Lanes)); err != nil {
		return err
	}
	reg, err := flows.Load(a.cfg.FlowsDir, a.lanes.Names())
	if err != nil {
		return err
	}
	a.flowReg.Store(reg)
	a.editor.SetCheck(articleRefs(a.lanes, a.flowReg.Load))
	articles, err := loadKB(a.cfg.KBFile)
	if err != nil {
		return err
	}
	seeded, err := a.editor.Seed(ctx, articles)
	if err != nil {
		return fmt.Errorf("knowledge base: seed: %w", err)
	}
	if seeded {
		a.log.Info("knowledge base seeded", "articles", len(articles), "from", cmp.Or(a.cfg.KBFile, "built-in"))
	}
	return nil
}

func (a *app) openStores(ctx context.Context) error {
	if a.cfg.RedisURL != "" {
		opts, err := redisOptions(a.cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("KEFU_REDIS_URL: %w", err)
		}
		rdb := redis.NewClient(opts)
		a.closers = append(a.closers, rdb)
		if err := rdb.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis %s: %w", opts.Addr, err)
		}
		if err := checkRedisVersion(ctx, rdb); err != nil {
			return err
		}
		s := botredis.New(rdb, a.cfg.RedisPrefix)
		a.sessions, a.dedupe, a.locks = s, s, s
		a.tickets = handoffredis.New(rdb, a.cfg.RedisPrefix)
		events := handoffredis.NewEvents(rdb, a.cfg.RedisPrefix, a.log)
		a.closers = append(a.closers, events)
		a.events, a.presence = events, handoffredis.NewPresence(rdb, a.cfg.RedisPrefix, 0, nil)
		tokens := wxapiredis.New(rdb, a.cfg.RedisPrefix)
		a.tokens, a.quotas = tokens, tokens
		a.accounts = authredis.New(rdb, a.cfg.RedisPrefix)
		a.kbStore, a.kbNotify = kbredis.New(rdb, a.cfg.RedisPrefix), kbredis.NewNotifier(rdb, a.cfg.RedisPrefix)
		if err := a.openCases(rdb, nil); err != nil {
			return err
		}
		a.ping = func(ctx context.Context) error { return rdb.Ping(ctx).Err() }
		a.log.Info("store: shared (redis)", "addr", opts.Addr, "db", opts.DB)
		return nil
	}
	path := filepath.Join(a.cfg.DataDir, "kefu.db")
	db, err := sqlitedb.Open(path)
	if err != nil {
		return err
	}
	a.closers = append(a.closers, db)
	cp, err := sqlitedb.StartCheckpointer(db, path, checkpointInterval,
		func(err error) { a.log.Warn("WAL checkpoint failed; trying again", "err", err) })
	if err != nil {
		return err
	}
	a.closers = append(a.closers, cp) // closed before db
	return a.useSQLite(db, path)
}

// checkpointInterval is how often the embedded store's WAL is copied into
// the database file (sqlitedb.Checkpointer).
const checkpointInterval = 250 * time.Millisecond

func (a *app) useSQLite(db *sql.DB, path string) error {
	sessions, err := botsqlite.NewWithOptions(db, botsqlite.Options{CacheSize: botsqlite.DefaultCacheSize,
		WriteDelay: a.cfg.SessionWriteDelay,
		OnError:    func(err error) { a.log.Error("sessions not written; kept in memory, trying again", "err", err) }})
	if err != nil {
		return err
	}
	a.closers = append(a.closers, sessions) // closed before db: writes the sessions held back
	tickets, err := handoffsqlite.New(db)
	if err != nil {
		return err
	}
	tokens, err := wxapisqlite.New(db)
	if err != nil {
		return err
	}
	accounts, err := authsqlite.New(db)
	if err != nil {
		return err
	}
	kbStore, err := kbsqlite.New(db)
	if err != nil {
		return err
	}
	if err := a.openCases(nil, db); err != nil {
		return err
	}
	a.sessions, a.tickets, a.tokens, a.accounts = sessions, tickets, tokens, accounts
	a.quotas = tokens
	a.kbStore, a.kbNotify = kbStore, kb.NewLocalNotifier()
	a.dedupe, a.locks = botsqlite.NewDeduper(time.Now), botsqlite.NewLocker()
	a.events, a.presence = handoff.NewLocalEvents(), handoff.NewLocalPresence(0, nil)
	a.ping = db.PingContext
	a.log.Info("store: embedded (sqlite)", "path", path)
	return nil
}

func (a *app) buildServices(ctx context.Context) error {
	cfg := a.cfg
	articles, rev, err := a.editor.PublishedArticles(ctx)
	if err != nil {
		return fmt.Errorf("knowledge base: %w", err)
	}
	a.kbRev = rev
	rules := intents.DefaultRules()
	if cfg.RulesFile != "" {
		if rules, err = intents.LoadRules(cfg.RulesFile); err != nil {
			return err
		}
	}
	rerank, err := a.openSemantic(articles)
	if err != nil {
		return err
	}
	a.router, err = intents.NewRouter(intents.Options{Rules: rules, Threshold: cfg.MatchThreshold, Reranker: rerank},
		kb.NewIndex(articles))
	if err != nil {
		return err
	}
	lanes := a.lanes
	a.handoff, err = handoff.NewService(handoff.Options{Store: a.tickets, Lanes: lanes, RepeatLimit: cfg.RepeatLimit,
		AgentTimeout: cfg.AgentTimeout, UserTimeout: cfg.UserTimeout, QueueTimeout: cfg.QueueTimeout,
		Events: a.events, Logger: a.log})
	if err != nil {
		return err
	}
	if n, err := a.handoff.RecomputeSLAs(ctx); err != nil {
		return fmt.Errorf("recompute ticket deadlines: %w", err)
	} else if n > 0 {
		a.log.Info("lane SLAs changed: ticket deadlines recomputed", "tickets", n)
	}
	if err := a.openFlows(); err != nil {
		return err
	}
	a.auth, err = auth.NewService(auth.Options{Store: a.accounts, ValidLane: validLane(lanes)})
	if err != nil {
		return err
	}
	a.quota, err = wxapi.NewTracker(a.quotas, wxapi.QuotaLimits{MessageWindow: cfg.CSWindow, MessageLimit: cfg.CSLimit,
		EventWindow: cfg.CSEventWindow, EventLimit: cfg.CSEventLimit})
	if err != nil {
		return err
	}
	var sender bot.Sender
	if cfg.WeChatAppID != "" && cfg.WeChatAppSecret != "" {
		a.wechat, err = wxapi.New(wxapi.Options{
			BaseURL: cfg.WeChatAPIBase, AppID: cfg.WeChatAppID, AppSecret: cfg.WeChatAppSecret,
			Stable: cfg.WeChatStableToken, Tokens: a.tokens, Logger: a.log,
		})
		if err != nil {
			return err
		}
		// The bot's late replies and notices count against the windows
		// agents see; agents' replies are refused when none is left.
		sender = &wxapi.CountedSender{Client: a.wechat, Quota: a.quota, Logger: a.log}
		a.replies = &wxapi.QuotaSender{Client: a.wechat, Quota: a.quota, Logger: a.log}
	} else {
		a.log.Warn("customer-service API off: set KEFU_WECHAT_APP_ID and KEFU_WECHAT_APP_SECRET to deliver late replies")
	}
	a.engine, err = bot.New(bot.Options{
		Sessions: a.sessions, Dedupe: a.dedupe, Locks: a.locks, Router: a.router, Handoff: a.handoff,
		Sender: sender, FailLimit: cfg.FailLimit, Budget: cfg.TurnBudget, Logger: a.log,
		Observe: a.metrics.observeTurn, Unanswered: a.recordUnanswered(), Flows: a.flows, Cases: a.cases,
		Inbound: a.recordInteractions(),
	})
	return err
}

// openSemantic starts the optional semantic index when an embeddings
// endpoint is configured, embedding the articles in the background. It
// returns nil (not a typed nil) when semantic matching is off.
func (a *app) openSemantic(articles []kb.Article) (intents.Reranker, error) {
	cfg := a.cfg
	if cfg.EmbedBaseURL == "" {
		return nil, nil
	}
	emb, err := semantic.NewOpenAI(semantic.Config{BaseURL: cfg.EmbedBaseURL, APIKey: cfg.EmbedAPIKey, Model: cfg.EmbedModel})
	if err != nil {
		return nil, err
	}
	a.semantic, err = semantic.NewIndex(semantic.Options{
		Embedder: emb, Weight: cfg.EmbedWeight, QueryTimeout: cfg.EmbedTimeout,
		CacheFile: filepath.Join(cfg.DataDir, "embeddings.cache"), Logger: a.log, Observe: a.metrics.observeSemantic,
	})
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.semantic)
	a.semantic.Update(articles)
	a.log.Info("semantic matching on", "endpoint", cfg.EmbedBaseURL, "model", cfg.EmbedModel, "weight", cfg.EmbedWeight)
	return a.semantic, nil
}

// recordUnanswered returns the engine's hook for unanswered questions: it
// queues them for a writer goroutine (a writeBehind), so a turn never
// waits for the editors' queue, and drops them (counting) when the writer
// falls behind. What is queued is written out when the app closes.
func (a *app) recordUnanswered() func(bot.Unanswered) {
	// A batch is one write: under load the questions of many turns share
	// a transaction.
	w := newWriteBehind(256, 64, writeLinger, a.metrics.unansweredDropped, func(ctx context.Context, batch []bot.Unanswered) {
		us := make([]kb.Unanswered, len(batch))
		for i, u := range batch {
			us[i] = kb.Unanswered{Text: u.Text, Reason: kb.Reason(u.Reason), ArticleID: u.ArticleID, Score: u.Score}
		}
		if err := a.editor.RecordUnanswered(ctx, us...); err != nil {
			a.log.Warn("unanswered: record", "err", err)
		}
	})
	a.closers = append(a.closers, w)
	return w.Offer
}

// watchKB brings the router's index up to date whenever the published
// knowledge base changes, here or in another instance, until ctx ends: at
// once, and in full when the classifier is trained (see kb.LiveIndex).
func (a *app) watchKB(ctx context.Context) {
	live := kb.NewLiveIndex(a.router.Index(), a.router.SetIndex)
	err := a.editor.Watch(ctx, a.kbRev, 0, func(articles []kb.Article, rev int64) {
		start := time.Now()
		live.Update(articles)
		classifier := "ready"
		if _, approximate := live.Current(); approximate {
			classifier = "training in the background"
		}
		a.log.Info("knowledge base reloaded", "revision", rev, "articles", len(articles), "took", time.Since(start),
			"classifier", classifier)
		if a.semantic != nil {
			a.semantic.Update(articles)
		}
		a.metrics.kbRevision.Set(float64(rev))
	})
	if err != nil && ctx.Err() == nil {
		a.log.Error("knowledge base: watch", "err", err)
	}
}

func loadKB(path string) ([]kb.Article, error) {
	if path == "" {
		return kb.Default()
	}
	articles, err := readKBFile(path)
	if err != nil {
		return nil, fmt.Errorf("KEFU_KB_FILE: %w", err)
	}
	return articles, nil
}

// readKBFile reads a knowledge base from a JSON file (an export).
func readKBFile(path string) ([]kb.Article, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	articles, err := kb.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return articles, nil
}

// mergeLanes overrides the default lanes with the configured ones, by name,
// and adds configured lanes that are new.
func mergeLanes(defaults []handoff.Lane, configured []config.Lane) []handoff.Lane {
	out := defaults
	for _, c := range configured {
		l := handoff.Lane{Name: c.Name, Title: c.Title, TitleEN: c.TitleEN, SLA: c.SLA, Order: c.Order}
		replaced := false
		for i := range out {
			if out[i].Name == c.Name {
				if l.Title == "" {
					l.Title = out[i].Title
				}
				if l.TitleEN == "" {
					l.TitleEN = out[i].TitleEN
				}
				if l.SLA == 0 {
					l.SLA = out[i].SLA
				}
				if l.Order == 0 {
					l.Order = out[i].Order
				}
				out[i], replaced = l, true
			}
		}
		if !replaced {
			out = append(out, l)
		}
	}
	return out
}

// redisOptions parses KEFU_REDIS_URL. Unless the URL asks for a protocol
// (?protocol=3), the client speaks RESP2: kefu uses nothing of RESP3, and
// with it go-redis looks for push notifications after every command, 6%
// of kefu's CPU in a Redis-mode load test profile.
func redisOptions(rawURL string) (*redis.Options, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if u, err := url.Parse(rawURL); err == nil && !u.Query().Has("protocol") {
		opts.Protocol = 2
	}
	return opts, nil
}

// checkRedisVersion refuses a Redis older than 7.0: the dedupe claims a
// message with SET … NX GET, which older servers reject, and every message
// would then be answered "busy".
func checkRedisVersion(ctx context.Context, rdb *redis.Client) error {
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return fmt.Errorf("redis: read version: %w", err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			major, _, _ := strings.Cut(v, ".")
			if n, err := strconv.Atoi(major); err != nil || n < 7 {
				return fmt.Errorf("redis: version %s; kefu needs Redis 7.0 or newer", v)
			}
			return nil
		}
	}
	return nil
}

// Close releases the stores.
func (a *app) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i].Close())
	}
	return errors.Join(errs...)
}
