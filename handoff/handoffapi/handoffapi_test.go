package handoffapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/auth/ginauth"
	"github.com/kefuhq/kefu/auth/ginauth/ginauthtest"
	authsqlite "github.com/kefuhq/kefu/auth/sqlitestore"
	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/handoff/handoffapi"
	handoffsqlite "github.com/kefuhq/kefu/handoff/sqlitestore"
	"github.com/kefuhq/kefu/internal/apierr"
	"github.com/kefuhq/kefu/internal/clocktest"
	"github.com/kefuhq/kefu/internal/sqlitedb"
	"github.com/kefuhq/kefu/wxapi"
	wxapisqlite "github.com/kefuhq/kefu/wxapi/sqlitestore"
)

const password = "agent password"

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// server is the ticket routes on /api/v1, mounted as kefu serve mounts
// them: behind ginauth's Authenticate and Require(auth.PermServe), over
// the real stores in memory. Replies go through a wxapi.QuotaSender over
// the real quota tracker to a fake WeChat client.
type server struct {
	t      *testing.T
	h      http.Handler
	svc    *handoff.Service
	users  *auth.Service
	clock  *clocktest.Clock
	wechat *fakeClient
	ids    map[string]string // account ids by username
	tokens map[string]string // bearer tokens by username
}

// The accounts: wang and li serve the normal lane, zhao the emergency
// lane, solo holds one ticket at most, boss is an admin and ed an editor.
var accounts = []auth.NewAccount{
	{Username: "wang", Name: "王芳", Role: auth.RoleAgent, Lanes: []string{"normal"}},
	{Username: "li", Role: auth.RoleAgent, Lanes: []string{"normal"}},
	{Username: "zhao", Role: auth.RoleAgent, Lanes: []string{"emergency"}},
	{Username: "solo", Role: auth.RoleAgent, Lanes: []string{"normal"}, Capacity: 1},
	{Username: "boss", Role: auth.RoleAdmin},
	{Username: "ed", Role: auth.RoleEditor},
}

// newServer returns a server; sender, when not nil, replaces the
// QuotaSender (nil for no sender at all is noSender).
func newServer(t *testing.T, opts ...func(*handoffapi.Options)) *server {
	t.Helper()
	db, err := sqlitedb.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := &server{t: t, clock: clocktest.NewNear(), wechat: &fakeClient{}, ids: map[string]string{}, tokens: map[string]string{}}
	store, err := handoffsqlite.New(db)
	if err != nil {
		t.Fatal(err)
	}
	lanes, err := handoff.NewLanes(handoff.DefaultLanes())
	if err != nil {
		t.Fatal(err)
	}
	s.svc, err = handoff.NewService(handoff.Options{Store: store, Lanes: lanes, RepeatLimit: 3, Now: s.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	accStore, err := authsqlite.New(db)
	if err != nil {
		t.Fatal(err)
	}
	users := ginauthtest.Service(t, accStore)
	s.users = users
	for i := range accounts {
		accounts[i].Password = password
	}
	for name, in := range ginauthtest.SignIn(t, users, accounts...) {
		s.ids[name], s.tokens[name] = in.ID, in.Token
	}
	quotaStore, err := wxapisqlite.New(db)
	if err != nil {
		t.Fatal(err)
	}
	quota, err := wxapi.NewTracker(quotaStore, wxapi.QuotaLimits{})
	if err != nil {
		t.Fatal(err)
	}
	o := handoffapi.Options{Service: s.svc, Quota: quota, Accounts: users, Now: s.clock.Now,
		Sender: &wxapi.QuotaSender{Client: s.wechat, Quota: quota, Now: s.clock.Now},
		Logger: slog.New(slog.DiscardHandler)}
	for _, f := range opts {
		f(&o)
	}
	h, err := handoffapi.New(o)
	if err != nil {
		t.Fatal(err)
	}
	signIn, err := ginauth.New(ginauth.Options{Service: users})
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	h.Register(r.Group("/api/v1", signIn.Authenticate(), ginauth.Require(auth.PermServe)))
	s.h = r
	return s
}

// fakeClient is WeChat's customer-service API: it answers err (nil
// delivers) and counts the sends that reached it.
type fakeClient struct {
	mu   sync.Mutex
	err  error
	sent []string
}

func (f *fakeClient) SendText(_ context.Context, openID, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, text)
	return f.err
}

func (f *fakeClient) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeClient) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

// senderFunc is a Sender from a function.
type senderFunc func(ctx context.Context, openID, text string) (wxapi.Delivery, error)

func (f senderFunc) SendText(ctx context.Context, openID, text string) (wxapi.Delivery, error) {
	return f(ctx, openID, text)
}

// handoff opens a ticket for the user in the lane, the user having said
// text just now, as the bot would.
func (s *server) handoff(openID, lane, text string) handoff.Ticket {
	s.t.Helper()
	out, err := s.svc.Handoff(context.Background(), handoff.Request{OpenID: openID, Lane: lane, Reason: "user_request",
		Transcript: []handoff.Message{{From: handoff.FromUser, Kind: "text", Text: text, At: s.clock.Now()}}})
	if err != nil {
		s.t.Fatal(err)
	}
	return out.Ticket
}

// do sends a request as the user (by username; "" sends no token) and
// returns the answer.
func (s *server) do(user, method, path string, body any) *httptest.ResponseRecorder {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, "/api/v1"+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+s.tokens[user])
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, req)
	return w
}

// call sends a request and wants status; the JSON answer goes into out
// unless out is nil.
func (s *server) call(user, method, path string, body any, status int, out any) {
	s.t.Helper()
	w := s.do(user, method, path, body)
	if w.Code != status {
		s.t.Fatalf("%s %s as %s: status %d, want %d; body %s", method, path, user, w.Code, status, w.Body)
	}
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			s.t.Fatalf("answer %s: %v", w.Body, err)
		}
	}
}

// wantError wants the request answered with status and the error code,
// in apierr's shape.
func (s *server) wantError(user, method, path string, body any, status int, code string) {
	s.t.Helper()
	w := s.do(user, method, path, body)
	var b apierr.Body
	if w.Code != status || json.Unmarshal(w.Body.Bytes(), &b) != nil || b.Error.Code != code || b.Error.Message == "" {
		s.t.Fatalf("%s %s as %s: status %d, body %s; want %d %s", method, path, user, w.Code, w.Body, status, code)
	}
}

// The JSON of the answers, as a client reads them.
type (
	header struct {
		ID       string    `json:"id"`
		OpenID   string    `json:"open_id"`
		Lane     string    `json:"lane"`
		Reason   string    `json:"reason"`
		Status   string    `json:"status"`
		AgentID  string    `json:"agent_id"`
		Merged   int       `json:"merged"`
		SLADueAt time.Time `json:"sla_due_at"`
		Breached bool      `json:"breached"`
	}
	message struct {
		From          string `json:"from"`
		Kind          string `json:"kind"`
		Text          string `json:"text"`
		Delivery      string `json:"delivery"`
		DeliveryError string `json:"delivery_error"`
	}
	detail struct {
		header
		Position int              `json:"position"`
		Messages []message        `json:"messages"`
		Earlier  []header         `json:"earlier"`
		Quota    *wxapi.Allowance `json:"quota"`
	}
	sent struct {
		Delivered      bool            `json:"delivered"`
		MaybeDelivered bool            `json:"maybe_delivered"`
		Error          *apierr.Detail  `json:"error"`
		Quota          wxapi.Allowance `json:"quota"`
		Message        message         `json:"message"`
		Recorded       bool            `json:"recorded"`
	}
	lane struct {
		Name       string `json:"name"`
		SLASeconds int64  `json:"sla_seconds"`
		Waiting    int    `json:"waiting"`
		Breached   int    `json:"breached"`
	}
)

func ids(hs []header) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, h.ID)
	}
	return out
}

func TestAccess(t *testing.T) {
	s := newServer(t)
	s.wantError("", "GET", "/tickets", nil, http.StatusUnauthorized, apierr.CodeUnauthenticated)
	s.wantError("ed", "GET", "/tickets", nil, http.StatusForbidden, apierr.CodeForbidden)
}

func TestList(t *testing.T) {
	s := newServer(t)
	n1 := s.handoff("u1", "normal", "怎么导出账单")
	s.clock.Advance(time.Second)
	e := s.handoff("u2", "emergency", "账号被盗了")
	s.clock.Advance(time.Second)
	n2 := s.handoff("u3", "normal", "人工")

	for _, tc := range []struct {
		name, user, query string
		want              []string
	}{
		{"AgentSeesItsLanes", "wang", "", []string{n1.ID, n2.ID}},
		{"OtherAgentOtherLanes", "zhao", "", []string{e.ID}},
		{"AdminSeesAll", "boss", "", []string{n1.ID, e.ID, n2.ID}},
		{"Lane", "boss", "?lane=emergency", []string{e.ID}},
		{"Limit", "wang", "?limit=1", []string{n1.ID}},
		{"Queued", "wang", "?status=queued", []string{n1.ID, n2.ID}},
		{"NoneClosed", "wang", "?status=closed", []string{}},
		{"NoneMine", "wang", "?mine=1", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []header
			s.call(tc.user, "GET", "/tickets"+tc.query, nil, http.StatusOK, &got)
			if g := ids(got); strings.Join(g, ",") != strings.Join(tc.want, ",") {
				t.Errorf("got %v, want %v", g, tc.want)
			}
		})
	}
	t.Run("Fields", func(t *testing.T) {
		var got []header
		s.call("wang", "GET", "/tickets?limit=1", nil, http.StatusOK, &got)
		h := got[0]
		if h.OpenID != "u1" || h.Lane != "normal" || h.Reason != "user_request" || h.Status != "queued" || h.SLADueAt.IsZero() || h.Breached {
			t.Errorf("header %+v", h)
		}
	})
	t.Run("MineAndClosed", func(t *testing.T) {
		s.call("wang", "POST", "/tickets/"+n2.ID+"/claim", nil, http.StatusOK, nil)
		var got []header
		s.call("wang", "GET", "/tickets?mine=1", nil, http.StatusOK, &got)
		if len(got) != 1 || got[0].ID != n2.ID || got[0].AgentID != s.ids["wang"] {
			t.Errorf("mine: %+v", got)
		}
		s.call("wang", "POST", "/tickets/"+n2.ID+"/close", map[string]string{"resolution": "resolved"}, http.StatusOK, nil)
		s.call("wang", "GET", "/tickets?status=closed", nil, http.StatusOK, &got)
		if len(got) != 1 || got[0].ID != n2.ID {
			t.Errorf("closed: %+v", got)
		}
	})
	t.Run("Breached", func(t *testing.T) {
		s.clock.Advance(20 * time.Minute)
		var got []header
		s.call("zhao", "GET", "/tickets", nil, http.StatusOK, &got)
		if len(got) != 1 || !got[0].Breached {
			t.Errorf("a ticket past its 15 min SLA: %+v", got)
		}
	})
	for _, tc := range []struct {
		name, user, query string
		status            int
		code              string
	}{
		{"ErrOtherLane", "wang", "?lane=emergency", http.StatusForbidden, apierr.CodeForbidden},
		{"ErrUnknownLane", "wang", "?lane=nope", http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrStatus", "wang", "?status=done", http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrLimit", "wang", "?limit=0", http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrLimitHigh", "wang", "?limit=501", http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrMine", "wang", "?mine=yes", http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrMineClosed", "wang", "?mine=1&status=closed", http.StatusBadRequest, apierr.CodeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.wantError(tc.user, "GET", "/tickets"+tc.query, nil, tc.status, tc.code)
		})
	}
}

func TestTicket(t *testing.T) {
	s := newServer(t)
	old := s.handoff("u1", "normal", "第一次")
	if _, err := s.svc.Close(context.Background(), old.ID, "resolved"); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Minute)
	tk := s.handoff("u1", "normal", "<img src=x onerror=alert(1)>")

	t.Run("OK", func(t *testing.T) {
		w := s.do("wang", "GET", "/tickets/"+tk.ID, nil)
		if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "<img") {
			t.Fatalf("status %d, body %s: want 200 and user text escaped", w.Code, w.Body)
		}
		var d detail
		if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
		if d.ID != tk.ID || d.Position != 1 || len(d.Messages) != 2 || d.Messages[0].From != "user" ||
			d.Messages[0].Text != "<img src=x onerror=alert(1)>" || d.Messages[1].From != "system" {
			t.Errorf("ticket %+v", d)
		}
		if len(d.Earlier) != 1 || d.Earlier[0].ID != old.ID || d.Earlier[0].Status != "closed" {
			t.Errorf("earlier %+v, want %s", d.Earlier, old.ID)
		}
		// The user's message in the transcript opened the window.
		if d.Quota == nil || d.Quota.Reason != wxapi.ReasonOpen || d.Quota.Remaining != 5 || d.Quota.Limit != 5 {
			t.Errorf("quota %+v, want 5 of 5 open", d.Quota)
		}
	})
	t.Run("NoQuota", func(t *testing.T) {
		s := newServer(t, func(o *handoffapi.Options) { o.Quota = nil })
		tk := s.handoff("u1", "normal", "hi")
		var d detail
		s.call("wang", "GET", "/tickets/"+tk.ID, nil, http.StatusOK, &d)
		if d.Quota != nil {
			t.Errorf("quota %+v without a tracker", d.Quota)
		}
	})
	t.Run("ErrOtherLane", func(t *testing.T) {
		s.wantError("zhao", "GET", "/tickets/"+tk.ID, nil, http.StatusForbidden, apierr.CodeForbidden)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		s.wantError("wang", "GET", "/tickets/T20000101-00001", nil, http.StatusNotFound, apierr.CodeNotFound)
	})
}

func TestClaim(t *testing.T) {
	s := newServer(t)
	tk := s.handoff("u1", "normal", "人工")
	e := s.handoff("u2", "emergency", "被骗了")

	s.wantError("wang", "POST", "/tickets/"+e.ID+"/claim", nil, http.StatusForbidden, apierr.CodeForbidden)
	var h header
	s.call("wang", "POST", "/tickets/"+tk.ID+"/claim", nil, http.StatusOK, &h)
	if h.Status != "assigned" || h.AgentID != s.ids["wang"] {
		t.Errorf("claimed %+v", h)
	}
	s.wantError("li", "POST", "/tickets/"+tk.ID+"/claim", nil, http.StatusConflict, handoffapi.CodeNotQueued)
	s.wantError("wang", "POST", "/tickets/T20000101-00001/claim", nil, http.StatusNotFound, apierr.CodeNotFound)
	// An agent sees the tickets it holds, also outside its lanes.
	s.call("boss", "POST", "/tickets/"+e.ID+"/transfer", map[string]string{"agent_id": s.ids["wang"]}, http.StatusOK, nil)
	s.call("wang", "GET", "/tickets/"+e.ID, nil, http.StatusOK, nil)

	t.Run("ErrAtCapacity", func(t *testing.T) {
		a, b := s.handoff("u3", "normal", "1"), s.handoff("u4", "normal", "2")
		s.call("solo", "POST", "/tickets/"+a.ID+"/claim", nil, http.StatusOK, nil)
		s.wantError("solo", "POST", "/tickets/"+b.ID+"/claim", nil, http.StatusConflict, handoffapi.CodeAtCapacity)
		s.wantError("solo", "POST", "/tickets/claim-next", nil, http.StatusConflict, handoffapi.CodeAtCapacity)
	})
}

// TestClaimRace has two agents claim one ticket at once through the API:
// exactly one wins, the other is told it lost.
func TestClaimRace(t *testing.T) {
	s := newServer(t)
	for range 5 {
		tk := s.handoff("u"+s.clock.Now().String(), "normal", "人工")
		codes := make(chan int, 2)
		var wg sync.WaitGroup
		for _, user := range []string{"wang", "li"} {
			wg.Go(func() { codes <- s.do(user, "POST", "/tickets/"+tk.ID+"/claim", nil).Code })
		}
		wg.Wait()
		close(codes)
		won, lost := 0, 0
		for c := range codes {
			switch c {
			case http.StatusOK:
				won++
			case http.StatusConflict:
				lost++
			}
		}
		if won != 1 || lost != 1 {
			t.Fatalf("%d won, %d lost; want 1 and 1", won, lost)
		}
		if _, err := s.svc.Close(context.Background(), tk.ID, "resolved"); err != nil {
			t.Fatal(err)
		}
		s.clock.Advance(time.Second)
	}
}

func TestClaimNext(t *testing.T) {
	s := newServer(t)
	n := s.handoff("u1", "normal", "人工")
	s.clock.Advance(time.Second)
	e := s.handoff("u2", "emergency", "被盗")

	var h header
	s.call("boss", "POST", "/tickets/claim-next", nil, http.StatusOK, &h)
	if h.ID != e.ID {
		t.Errorf("admin claimed %s, want the emergency ticket %s", h.ID, e.ID)
	}
	s.wantError("zhao", "POST", "/tickets/claim-next", nil, http.StatusNotFound, handoffapi.CodeEmpty)
	s.call("wang", "POST", "/tickets/claim-next", nil, http.StatusOK, &h)
	if h.ID != n.ID || h.AgentID != s.ids["wang"] {
		t.Errorf("wang claimed %+v, want %s", h, n.ID)
	}
	s.wantError("li", "POST", "/tickets/claim-next", nil, http.StatusNotFound, handoffapi.CodeEmpty)
}

// transcript returns the ticket's messages as the API shows them.
func (s *server) transcript(id string) []message {
	s.t.Helper()
	var d detail
	s.call("boss", "GET", "/tickets/"+id, nil, http.StatusOK, &d)
	return d.Messages
}

func TestReply(t *testing.T) {
	s := newServer(t)
	tk := s.handoff("u1", "normal", "人工")
	path := "/tickets/" + tk.ID + "/messages"
	reply := map[string]string{"text": "您好，我是客服王芳"}

	t.Run("ErrNotClaimed", func(t *testing.T) {
		s.wantError("wang", "POST", path, reply, http.StatusConflict, handoffapi.CodeNotAssigned)
	})
	s.call("wang", "POST", "/tickets/"+tk.ID+"/claim", nil, http.StatusOK, nil)
	t.Run("ErrNotYours", func(t *testing.T) {
		s.wantError("li", "POST", path, reply, http.StatusForbidden, apierr.CodeForbidden)
		s.wantError("zhao", "POST", path, reply, http.StatusForbidden, apierr.CodeForbidden)
	})
	t.Run("ErrText", func(t *testing.T) {
		s.wantError("wang", "POST", path, map[string]string{"text": "  "}, http.StatusBadRequest, apierr.CodeInvalid)
		s.wantError("wang", "POST", path, map[string]string{"text": strings.Repeat("字", 2001)}, http.StatusBadRequest, apierr.CodeInvalid)
		s.wantError("wang", "POST", path, map[string]int{"text": 1}, http.StatusBadRequest, apierr.CodeBadRequest)
		s.wantError("wang", "POST", "/tickets/T20000101-00001/messages", reply, http.StatusNotFound, apierr.CodeNotFound)
	})
	t.Run("Delivered", func(t *testing.T) {
		var r sent
		s.call("wang", "POST", path, map[string]string{"text": strings.Repeat("字", 2000)}, http.StatusOK, &r)
		if !r.Delivered || r.Error != nil || !r.Recorded || r.Quota.Remaining != 4 || r.Quota.Limit != 5 || r.Message.Delivery != "delivered" {
			t.Errorf("answer %+v, want delivered with 4 of 5 left", r)
		}
	})
	t.Run("WeChatError", func(t *testing.T) {
		s.wechat.fail(wxapi.ErrInvalidOpenID)
		var r sent
		s.call("wang", "POST", path, map[string]string{"text": "第二条"}, http.StatusBadGateway, &r)
		if r.Delivered || r.Error == nil || r.Error.Code != handoffapi.CodeWeChat || !strings.Contains(r.Error.Message, "40003") {
			t.Errorf("answer %+v", r)
		}
		if r.Quota.Remaining != 4 {
			t.Errorf("a refused send was counted: %+v", r.Quota)
		}
	})
	t.Run("WindowClosed", func(t *testing.T) {
		s.wechat.fail(wxapi.ErrWindowClosed)
		var r sent
		s.call("wang", "POST", path, map[string]string{"text": "第三条"}, http.StatusConflict, &r)
		if r.Delivered || r.Error == nil || r.Error.Code != handoffapi.CodeWindowClosed || r.Quota.Reason != wxapi.ReasonClosed {
			t.Errorf("answer %+v", r)
		}
		// The tracker now refuses without asking WeChat.
		n := s.wechat.count()
		s.wantError("wang", "POST", path, map[string]string{"text": "第四条"}, http.StatusConflict, handoffapi.CodeWindowClosed)
		if s.wechat.count() != n {
			t.Error("a send the tracker knew would fail went to WeChat")
		}
	})
	t.Run("InTranscript", func(t *testing.T) {
		var agent []message
		for _, m := range s.transcript(tk.ID) {
			if m.From == "agent" {
				agent = append(agent, m)
			}
		}
		want := []struct{ text, delivery, code string }{
			{strings.Repeat("字", 2000), "delivered", ""},
			{"第二条", "not_delivered", handoffapi.CodeWeChat},
			{"第三条", "not_delivered", handoffapi.CodeWindowClosed},
			{"第四条", "not_delivered", handoffapi.CodeWindowClosed},
		}
		if len(agent) != len(want) {
			t.Fatalf("agent messages %+v, want %d", agent, len(want))
		}
		for i, w := range want {
			if m := agent[i]; m.Text != w.text || m.Delivery != w.delivery || m.DeliveryError != w.code {
				t.Errorf("message %d: %+v, want %+v", i, m, w)
			}
		}
	})
	t.Run("QuotaExhausted", func(t *testing.T) {
		s.wechat.fail(nil)
		s.clock.Advance(time.Second)
		if err := s.svc.Append(context.Background(), tk.ID, handoff.Message{From: handoff.FromUser, Kind: "text", Text: "还在吗", At: s.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			s.call("wang", "POST", path, reply, http.StatusOK, nil)
		}
		var r sent
		s.call("wang", "POST", path, reply, http.StatusConflict, &r)
		if r.Error == nil || r.Error.Code != handoffapi.CodeQuotaUsed || r.Quota.Remaining != 0 || r.Quota.Reason != wxapi.ReasonExhausted {
			t.Errorf("answer %+v", r)
		}
	})
	t.Run("AdminMayReply", func(t *testing.T) {
		s.clock.Advance(time.Second)
		if err := s.svc.Append(context.Background(), tk.ID, handoff.Message{From: handoff.FromUser, Kind: "text", Text: "喂", At: s.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		s.call("boss", "POST", path, reply, http.StatusOK, nil)
	})
	t.Run("ErrClosed", func(t *testing.T) {
		s.call("wang", "POST", "/tickets/"+tk.ID+"/close", map[string]string{"resolution": "resolved"}, http.StatusOK, nil)
		s.wantError("wang", "POST", path, reply, http.StatusConflict, handoffapi.CodeClosed)
	})
}

func TestReplyOtherSenders(t *testing.T) {
	t.Run("MaybeDelivered", func(t *testing.T) {
		s := newServer(t, func(o *handoffapi.Options) {
			o.Sender = senderFunc(func(context.Context, string, string) (wxapi.Delivery, error) {
				err := errors.New("read: connection reset")
				return wxapi.Delivery{MaybeDelivered: true, Err: err, Allowance: wxapi.Allowance{Remaining: 4, Limit: 5, Reason: wxapi.ReasonOpen}}, err
			})
		})
		tk := s.handoff("u1", "normal", "人工")
		s.call("wang", "POST", "/tickets/"+tk.ID+"/claim", nil, http.StatusOK, nil)
		var r sent
		s.call("wang", "POST", "/tickets/"+tk.ID+"/messages", map[string]string{"text": "hi"}, http.StatusBadGateway, &r)
		if !r.MaybeDelivered || r.Delivered || r.Error == nil || r.Error.Code != handoffapi.CodeMaybeSent {
			t.Errorf("answer %+v", r)
		}
		if m := s.transcript(tk.ID); m[len(m)-1].Delivery != "maybe_delivered" {
			t.Errorf("last message %+v", m[len(m)-1])
		}
	})
	t.Run("ErrNotConfigured", func(t *testing.T) {
		s := newServer(t, func(o *handoffapi.Options) { o.Sender = nil })
		tk := s.handoff("u1", "normal", "人工")
		s.call("wang", "POST", "/tickets/"+tk.ID+"/claim", nil, http.StatusOK, nil)
		s.wantError("wang", "POST", "/tickets/"+tk.ID+"/messages", map[string]string{"text": "hi"},
			http.StatusServiceUnavailable, handoffapi.CodeNotConfigured)
	})
}

func TestNotes(t *testing.T) {
	s := newServer(t)
	tk := s.handoff("u1", "normal", "人工")
	var m message
	s.call("li", "POST", "/tickets/"+tk.ID+"/notes", map[string]string{"text": "老用户，优先处理"}, http.StatusCreated, &m)
	if m.From != "note" || m.Text != "老用户，优先处理" {
		t.Errorf("note %+v", m)
	}
	msgs := s.transcript(tk.ID)
	if last := msgs[len(msgs)-1]; last.From != "note" || last.Text != "老用户，优先处理" {
		t.Errorf("last message %+v", last)
	}
	s.wantError("zhao", "POST", "/tickets/"+tk.ID+"/notes", map[string]string{"text": "x"}, http.StatusForbidden, apierr.CodeForbidden)
	s.wantError("li", "POST", "/tickets/"+tk.ID+"/notes", map[string]string{"text": ""}, http.StatusBadRequest, apierr.CodeInvalid)
	s.wantError("li", "POST", "/tickets/"+tk.ID+"/notes", map[string]string{"txt": "x"}, http.StatusBadRequest, apierr.CodeBadRequest)
}

func TestRelease(t *testing.T) {
	s := newServer(t)
	tk := s.handoff("u1", "normal", "人工")
	path := "/tickets/" + tk.ID + "/release"
	s.wantError("wang", "POST", path, nil, http.StatusConflict, handoffapi.CodeNotAssigned)
	s.call("wang", "POST", "/tickets/"+tk.ID+"/claim", nil, http.StatusOK, nil)
	s.wantError("li", "POST", path, nil, http.StatusForbidden, apierr.CodeForbidden)
	var h header
	s.call("wang", "POST", path, nil, http.StatusOK, &h)
	if h.Status != "queued" || h.AgentID != "" {
		t.Errorf("released %+v", h)
	}
}

func TestTransfer(t *testing.T) {
	s := newServer(t)
	tk := s.handoff("u1", "normal", "人工")
	path := "/tickets/" + tk.ID + "/transfer"
	s.call("wang", "POST", "/tickets/"+tk.ID+"/claim", nil, http.StatusOK, nil)

	for _, tc := range []struct {
		name, user string
		body       any
		status     int
		code       string
	}{
		{"ErrNotYours", "li", map[string]string{"lane": "care"}, http.StatusForbidden, apierr.CodeForbidden},
		{"ErrBoth", "wang", map[string]string{"lane": "care", "agent_id": s.ids["li"]}, http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrNeither", "wang", map[string]string{}, http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrUnknownLane", "wang", map[string]string{"lane": "nope"}, http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrUnknownAgent", "wang", map[string]string{"agent_id": "nobody"}, http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrEditor", "wang", map[string]string{"agent_id": s.ids["ed"]}, http.StatusBadRequest, apierr.CodeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) { s.wantError(tc.user, "POST", path, tc.body, tc.status, tc.code) })
	}
	t.Run("ToAgent", func(t *testing.T) {
		var h header
		s.call("wang", "POST", path, map[string]string{"agent_id": s.ids["li"]}, http.StatusOK, &h)
		if h.Status != "assigned" || h.AgentID != s.ids["li"] {
			t.Errorf("transferred %+v", h)
		}
	})
	t.Run("ToLane", func(t *testing.T) {
		var h header
		s.call("li", "POST", path, map[string]string{"lane": "emergency"}, http.StatusOK, &h)
		if h.Status != "queued" || h.Lane != "emergency" || h.AgentID != "" {
			t.Errorf("transferred %+v", h)
		}
		// Out of li's lanes now.
		s.wantError("li", "GET", "/tickets/"+tk.ID, nil, http.StatusForbidden, apierr.CodeForbidden)
		s.call("zhao", "GET", "/tickets/"+tk.ID, nil, http.StatusOK, nil)
	})
	t.Run("ErrAgentAtCapacity", func(t *testing.T) {
		other := s.handoff("u2", "normal", "人工")
		s.call("solo", "POST", "/tickets/"+other.ID+"/claim", nil, http.StatusOK, nil)
		s.wantError("zhao", "POST", path, map[string]string{"agent_id": s.ids["solo"]}, http.StatusConflict, handoffapi.CodeAtCapacity)
	})
}

func TestClose(t *testing.T) {
	s := newServer(t)
	tk := s.handoff("u1", "normal", "人工")
	path := "/tickets/" + tk.ID + "/close"
	s.call("wang", "POST", "/tickets/"+tk.ID+"/claim", nil, http.StatusOK, nil)
	s.wantError("wang", "POST", path, map[string]string{"resolution": "done"}, http.StatusBadRequest, apierr.CodeInvalid)
	s.wantError("wang", "POST", path, nil, http.StatusUnsupportedMediaType, apierr.CodeUnsupportedMedia)
	s.wantError("li", "POST", path, map[string]string{"resolution": "spam"}, http.StatusForbidden, apierr.CodeForbidden)
	var h header
	s.call("wang", "POST", path, map[string]string{"resolution": "resolved"}, http.StatusOK, &h)
	if h.Status != "closed" {
		t.Errorf("closed %+v", h)
	}
	msgs := s.transcript(tk.ID)
	if last := msgs[len(msgs)-1]; last.From != "system" || !strings.Contains(last.Text, "resolved") {
		t.Errorf("last message %+v", last)
	}
	s.wantError("wang", "POST", path, map[string]string{"resolution": "resolved"}, http.StatusConflict, handoffapi.CodeClosed)
	s.wantError("wang", "POST", "/tickets/"+tk.ID+"/release", nil, http.StatusConflict, handoffapi.CodeClosed)
	// A queued ticket may be closed by an agent of its lane (spam).
	q := s.handoff("u2", "normal", "广告")
	s.call("li", "POST", "/tickets/"+q.ID+"/close", map[string]string{"resolution": "spam"}, http.StatusOK, nil)
}

func TestOpen(t *testing.T) {
	s := newServer(t)
	var o struct {
		Ticket      header `json:"ticket"`
		Merged      bool   `json:"merged"`
		Position    int    `json:"position"`
		WaitSeconds int64  `json:"wait_seconds"`
	}
	body := map[string]string{"open_id": "u1", "lane": "normal", "text": "小程序提交：退款问题", "channel": "miniprogram"}
	s.call("wang", "POST", "/tickets", body, http.StatusCreated, &o)
	if o.Merged || o.Position != 1 || o.WaitSeconds != int64(24*time.Hour/time.Second) || o.Ticket.Reason != "user_request" {
		t.Errorf("opened %+v", o)
	}
	s.clock.Advance(time.Second)
	body["text"] = "补充说明"
	s.call("wang", "POST", "/tickets", body, http.StatusOK, &o)
	if !o.Merged || o.Ticket.Merged != 1 {
		t.Errorf("merged %+v", o)
	}
	msgs := s.transcript(o.Ticket.ID)
	if got := msgs[len(msgs)-1]; got.From != "user" || got.Text != "补充说明" {
		t.Errorf("last message %+v", got)
	}

	for _, tc := range []struct {
		name   string
		body   map[string]string
		status int
		code   string
	}{
		{"ErrNoOpenID", map[string]string{"lane": "normal"}, http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrOpenID", map[string]string{"open_id": "a b"}, http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrLane", map[string]string{"open_id": "u9", "lane": "nope"}, http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrReason", map[string]string{"open_id": "u9", "reason": "because"}, http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrChannel", map[string]string{"open_id": "u9", "channel": "Web Form"}, http.StatusBadRequest, apierr.CodeInvalid},
		{"ErrOtherLane", map[string]string{"open_id": "u9", "lane": "emergency"}, http.StatusForbidden, apierr.CodeForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) { s.wantError("wang", "POST", "/tickets", tc.body, tc.status, tc.code) })
	}
	t.Run("ErrRepeatLimit", func(t *testing.T) {
		for range 3 {
			var o struct {
				Ticket header `json:"ticket"`
			}
			s.call("boss", "POST", "/tickets", map[string]string{"open_id": "u5", "reason": "flow:bill-export"}, http.StatusCreated, &o)
			if _, err := s.svc.Close(context.Background(), o.Ticket.ID, "resolved"); err != nil {
				t.Fatal(err)
			}
		}
		s.wantError("boss", "POST", "/tickets", map[string]string{"open_id": "u5"}, http.StatusTooManyRequests, handoffapi.CodeRepeatLimit)
	})
}

func TestLanes(t *testing.T) {
	s := newServer(t)
	s.handoff("u1", "normal", "人工")
	s.handoff("u2", "normal", "人工")
	s.handoff("u3", "emergency", "被盗")
	s.clock.Advance(time.Hour)

	var got []lane
	s.call("wang", "GET", "/lanes", nil, http.StatusOK, &got)
	if len(got) != 1 || got[0].Name != "normal" || got[0].Waiting != 2 || got[0].Breached != 0 || got[0].SLASeconds != 86400 {
		t.Errorf("wang's lanes %+v", got)
	}
	s.call("boss", "GET", "/lanes", nil, http.StatusOK, &got)
	if len(got) != len(handoff.DefaultLanes()) || got[0].Name != "emergency" || got[0].Waiting != 1 || got[0].Breached != 1 {
		t.Errorf("all lanes %+v", got)
	}
}

func TestUndoMerge(t *testing.T) {
	s := newServer(t)
	tk := s.handoff("u1", "normal", "人工")
	s.clock.Advance(time.Minute)
	s.handoff("u1", "normal", "还在吗")
	path := "/tickets/" + tk.ID + "/merges/1/undo"
	var d struct {
		detail
		Merges []struct {
			N        int    `json:"n"`
			Reason   string `json:"reason"`
			UndoneBy string `json:"undone_by"`
			SplitTo  string `json:"split_to"`
		} `json:"merges"`
		SplitFrom string `json:"split_from"`
	}
	s.call("wang", "GET", "/tickets/"+tk.ID, nil, http.StatusOK, &d)
	if d.Merged != 1 || len(d.Merges) != 1 || d.Merges[0].N != 1 || d.Merges[0].Reason != "user_request" {
		t.Fatalf("merged ticket: merged %d, merges %+v", d.Merged, d.Merges)
	}
	s.wantError("zhao", "POST", path, nil, http.StatusForbidden, apierr.CodeForbidden)
	s.wantError("wang", "POST", "/tickets/"+tk.ID+"/merges/2/undo", nil, http.StatusNotFound, handoffapi.CodeNoMerge)
	s.wantError("wang", "POST", "/tickets/"+tk.ID+"/merges/x/undo", nil, http.StatusBadRequest, apierr.CodeInvalid)
	s.call("wang", "POST", "/tickets/"+tk.ID+"/claim", nil, http.StatusOK, nil)
	s.wantError("li", "POST", path, nil, http.StatusForbidden, apierr.CodeForbidden)
	var out struct {
		Ticket header `json:"ticket"`
		Split  header `json:"split"`
	}
	s.call("wang", "POST", path, nil, http.StatusOK, &out)
	if out.Ticket.Merged != 0 || out.Split.ID != handoff.SplitID(tk.ID, 1) || out.Split.Status != "queued" || out.Split.Lane != "normal" {
		t.Errorf("undo answered %+v", out)
	}
	s.wantError("wang", "POST", path, nil, http.StatusConflict, handoffapi.CodeMergeUndone)
	s.call("wang", "GET", "/tickets/"+tk.ID, nil, http.StatusOK, &d)
	if m := d.Merges[0]; m.UndoneBy != s.ids["wang"] || m.SplitTo != out.Split.ID {
		t.Errorf("merge after the undo %+v", m)
	}
	if last := d.Messages[len(d.Messages)-1]; last.From != "system" || !strings.Contains(last.Text, out.Split.ID) ||
		!strings.Contains(last.Text, "王芳") {
		t.Errorf("the original's last line %+v; want a system line naming the split ticket and the agent", last)
	}
	s.call("li", "GET", "/tickets/"+out.Split.ID, nil, http.StatusOK, &d)
	if d.SplitFrom != tk.ID || len(d.Messages) == 0 || d.Messages[len(d.Messages)-1].From != "system" {
		t.Errorf("split ticket: from %q, messages %+v", d.SplitFrom, d.Messages)
	}
}
