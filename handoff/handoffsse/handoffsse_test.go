package handoffsse_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/auth/ginauth"
	"github.com/kefuhq/kefu/auth/ginauth/ginauthtest"
	authsqlite "github.com/kefuhq/kefu/auth/sqlitestore"
	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/handoff/handoffsse"
	"github.com/kefuhq/kefu/internal/sqlitedb"
)

const password = "correct horse battery"

// countingEvents counts the open subscriptions of a bus.
type countingEvents struct {
	*handoff.LocalEvents
	open atomic.Int64
	gone chan struct{} // a subscription ended
}

func (c *countingEvents) Subscribe(ctx context.Context) (<-chan handoff.Event, error) {
	c.open.Add(1)
	context.AfterFunc(ctx, func() { c.open.Add(-1); c.gone <- struct{}{} })
	return c.LocalEvents.Subscribe(ctx)
}

// server is GET /api/v1/events behind Authenticate and Require(PermServe)
// on a real HTTP server with short timeouts (which the stream outlives),
// and the bearer tokens of an admin, an agent of the normal lane and one
// of the overseas lane.
type server struct {
	url      string
	bus      *countingEvents
	presence *handoff.LocalPresence
	live     *handoffsse.Handler
	tokens   map[string]string // by username
	ids      map[string]string // account ids by username
}

func newServer(t *testing.T, opts handoffsse.Options) *server {
	t.Helper()
	db, err := sqlitedb.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := authsqlite.New(db)
	if err != nil {
		t.Fatal(err)
	}
	svc := ginauthtest.Service(t, store)
	s := &server{bus: &countingEvents{LocalEvents: handoff.NewLocalEvents(), gone: make(chan struct{}, 16)},
		presence: handoff.NewLocalPresence(0, nil), tokens: map[string]string{}, ids: map[string]string{}}
	for name, in := range ginauthtest.SignIn(t, svc,
		auth.NewAccount{Username: "admin", Password: password, Role: auth.RoleAdmin},
		auth.NewAccount{Username: "wang", Password: password, Role: auth.RoleAgent, Lanes: []string{handoff.LaneNormal}},
		auth.NewAccount{Username: "li", Password: password, Role: auth.RoleAgent, Lanes: []string{handoff.LaneOverseas}},
	) {
		s.tokens[name], s.ids[name] = in.Token, in.ID
	}
	accounts, err := ginauth.New(ginauth.Options{Service: svc, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	opts.Events, opts.Presence = s.bus, s.presence
	if s.live, err = handoffsse.New(opts); err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	r := gin.New()
	s.live.Register(r.Group("/api/v1", accounts.Authenticate(), ginauth.Require(auth.PermServe)))
	ts := httptest.NewUnstartedServer(r)
	ts.Config.ReadTimeout, ts.Config.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
	ts.Start()
	t.Cleanup(ts.Close)
	s.url = ts.URL + "/api/v1/events"
	return s
}

// message is one SSE message; comments are the comment lines before it.
type message struct {
	id, event, data, retry string
	comments               []string
}

// stream is a client's open stream.
type stream struct {
	resp   *http.Response
	cancel context.CancelFunc
	msgs   chan message
}

// open opens the stream of the user, failing unless the server answers
// 200 with an event stream.
func (s *server) open(t *testing.T, user string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	req.Header.Set("Authorization", "Bearer "+s.tokens[user])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		cancel()
		t.Fatalf("GET /events as %s: %d %s", user, resp.StatusCode, ct)
	}
	st := &stream{resp: resp, cancel: cancel, msgs: make(chan message, 64)}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	go st.read()
	return st
}

// read parses the stream into messages until it ends.
func (st *stream) read() {
	defer close(st.msgs)
	r := bufio.NewReader(st.resp.Body)
	var m message
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\n")
		field, value, _ := strings.Cut(line, ": ")
		switch {
		case line == "":
			st.msgs <- m
			m = message{}
		case strings.HasPrefix(line, ":"):
			m.comments = append(m.comments, strings.TrimPrefix(line, ": "))
		case field == "id":
			m.id = value
		case field == "event":
			m.event = value
		case field == "data":
			m.data = value
		case field == "retry":
			m.retry = value
		}
	}
}

// next returns the next message that is not only comments.
func (st *stream) next(t *testing.T) message {
	t.Helper()
	for {
		select {
		case m, ok := <-st.msgs:
			if !ok {
				t.Fatal("stream ended")
			}
			if m.event != "" || m.retry != "" {
				return m
			}
		case <-time.After(2 * time.Second):
			t.Fatal("no message within 2 s")
		}
	}
}

// events returns the data of the events up to the next resync.
func (st *stream) events(t *testing.T) []handoff.Event {
	t.Helper()
	var out []handoff.Event
	for {
		m := st.next(t)
		var ev handoff.Event
		if err := json.Unmarshal([]byte(m.data), &ev); err != nil {
			t.Fatalf("data %q: %v", m.data, err)
		}
		if m.event != string(ev.Type) || m.id == "" {
			t.Errorf("message event %q id %q, data of type %s", m.event, m.id, ev.Type)
		}
		if ev.Type == handoff.EventResync {
			return out
		}
		out = append(out, ev)
	}
}

func TestStream(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, handoffsse.Options{})
	admin, wang, li := s.open(t, "admin"), s.open(t, "wang"), s.open(t, "li")
	for _, st := range []*stream{admin, wang, li} {
		if m := st.next(t); m.retry != "3000" {
			t.Errorf("first message %+v, want retry: 3000", m)
		}
	}
	for _, u := range []string{"admin", "wang", "li"} {
		if ok, _ := s.presence.Online(ctx, s.ids[u]); !ok {
			t.Errorf("%s streams but is not online", u)
		}
	}
	sent := []handoff.Event{
		{Type: handoff.EventTicketCreated, TicketID: "T1", Lane: handoff.LaneNormal, OpenID: "o-1", Text: "</script>\n\ndata: x"},
		{Type: handoff.EventTicketCreated, TicketID: "T2", Lane: handoff.LaneOverseas, OpenID: "o-2"},
		// Transferred to wang, in a lane he does not serve.
		{Type: handoff.EventTransferred, TicketID: "T2", Lane: handoff.LaneOverseas, AgentID: s.ids["wang"]},
		{Type: handoff.EventBreached, Lane: handoff.LaneEmergency, Count: 2},
		{Type: handoff.EventResync},
	}
	for _, ev := range sent {
		s.bus.Publish(ctx, ev)
	}
	ids := func(evs []handoff.Event) []string {
		var out []string
		for _, ev := range evs {
			out = append(out, string(ev.Type)+":"+ev.TicketID+ev.Lane)
		}
		return out
	}
	for _, c := range []struct {
		name string
		st   *stream
		want string
	}{
		{"admin", admin, "ticket_created:T1normal ticket_created:T2overseas transferred:T2overseas breached:emergency"},
		{"wang", wang, "ticket_created:T1normal transferred:T2overseas"},
		{"li", li, "ticket_created:T2overseas transferred:T2overseas"},
	} {
		evs := c.st.events(t)
		if got := strings.Join(ids(evs), " "); got != c.want {
			t.Errorf("%s got %s\nwant %s", c.name, got, c.want)
		}
		if c.name == "wang" && evs[0].Text != sent[0].Text {
			t.Errorf("text %q, want %q", evs[0].Text, sent[0].Text)
		}
	}
}

func TestHeartbeatOutlivesWriteTimeout(t *testing.T) {
	s := newServer(t, handoffsse.Options{Heartbeat: 20 * time.Millisecond})
	st := s.open(t, "wang")
	start := time.Now()
	pings := 0
	for time.Since(start) < time.Second { // > the server's 300 ms read and write timeouts
		select {
		case m, ok := <-st.msgs:
			if !ok {
				t.Fatalf("stream ended after %v", time.Since(start))
			}
			for _, c := range m.comments {
				if c == "ping" {
					pings++
				}
			}
		case <-time.After(time.Second):
			t.Fatal("no heartbeat")
		}
	}
	if pings < 10 {
		t.Errorf("%d heartbeats in 1 s at 20 ms", pings)
	}
	s.bus.Publish(context.Background(), handoff.Event{Type: handoff.EventResync})
	if m := st.next(t); m.event != "resync" {
		t.Errorf("after 1 s: %+v, want the event", m)
	}
}

func TestDisconnect(t *testing.T) {
	s := newServer(t, handoffsse.Options{})
	st := s.open(t, "wang")
	st.next(t)
	if n := s.bus.open.Load(); n != 1 {
		t.Fatalf("%d subscriptions, want 1", n)
	}
	st.cancel()
	select {
	case <-s.bus.gone:
	case <-time.After(2 * time.Second):
		t.Fatal("the subscription outlived the client by 2 s")
	}
}

func TestShutdown(t *testing.T) {
	s := newServer(t, handoffsse.Options{})
	st := s.open(t, "li")
	st.next(t)
	s.live.Shutdown()
	select {
	case <-s.bus.gone:
	case <-time.After(2 * time.Second):
		t.Fatal("the stream outlived Shutdown by 2 s")
	}
	if _, err := io.ReadAll(st.resp.Body); err != nil {
		t.Errorf("stream ended with %v, want a clean end", err)
	}
}

func TestVisible(t *testing.T) {
	wang := auth.Account{ID: "a-1", Role: auth.RoleAgent, Lanes: []string{handoff.LaneNormal}}
	editor := auth.Account{ID: "e-1", Role: auth.RoleEditor, Lanes: []string{handoff.LaneNormal}}
	for _, c := range []struct {
		name string
		a    auth.Account
		ev   handoff.Event
		want bool
	}{
		{"OwnLane", wang, handoff.Event{Type: handoff.EventMessage, Lane: handoff.LaneNormal}, true},
		{"OtherLane", wang, handoff.Event{Type: handoff.EventMessage, Lane: handoff.LaneMinor}, false},
		{"OwnTicket", wang, handoff.Event{Type: handoff.EventMessage, Lane: handoff.LaneMinor, AgentID: "a-1"}, true},
		{"Resync", wang, handoff.Event{Type: handoff.EventResync}, true},
		{"NotServing", editor, handoff.Event{Type: handoff.EventMessage, Lane: handoff.LaneNormal}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := handoffsse.Visible(c.a, c.ev); got != c.want {
				t.Errorf("Visible = %v, want %v", got, c.want)
			}
		})
	}
}
