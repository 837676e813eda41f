package bot_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/bot/bottest"
	"github.com/kefuhq/kefu/cases"
	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/intents/flows"
)

// businessBackend is a fake business system: it checks kefu's signature
// and acts once per idempotency key, answering with what the test sets.
type businessBackend struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	calls  []flows.Request
	acted  map[string]int // idempotency key → times acted
	// answer decides the reply to each call (n counts calls from 1).
	answer func(n int, req flows.Request) (status int, body string)
}

func newBusinessBackend(t *testing.T, answer func(n int, req flows.Request) (int, string)) (*businessBackend, *httptest.Server) {
	b := &businessBackend{t: t, secret: "s3cret", acted: map[string]int{}, answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(srv.Close)
	return b, srv
}

func (b *businessBackend) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := flows.Verify(b.secret, r.Header.Get("X-Kefu-Timestamp"), r.Header.Get("X-Kefu-Signature"), body,
		time.Now(), 5*time.Minute); err != nil {
		b.t.Errorf("backend: %v", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var req flows.Request
	if err := json.Unmarshal(body, &req); err != nil {
		b.t.Errorf("backend: body: %v", err)
		return
	}
	if req.IdempotencyKey == "" || r.Header.Get("Idempotency-Key") != req.IdempotencyKey {
		b.t.Errorf("backend: idempotency key header %q, body %q", r.Header.Get("Idempotency-Key"), req.IdempotencyKey)
	}
	b.mu.Lock()
	b.calls = append(b.calls, req)
	n := len(b.calls)
	b.mu.Unlock()
	status, reply := b.answer(n, req)
	if status/100 == 2 {
		b.mu.Lock()
		b.acted[req.IdempotencyKey]++
		b.mu.Unlock()
	}
	w.WriteHeader(status)
	io.WriteString(w, reply)
}

func (b *businessBackend) backend(srv *httptest.Server, actions ...string) flows.Backend {
	urls := map[string]string{}
	for _, a := range actions {
		urls[a] = srv.URL + "/" + a
	}
	return &flows.HTTPBackend{URLs: urls, Secret: b.secret, Timeout: time.Second}
}

// sayAll sends the messages in order and returns the last reply.
func sayAll(b *bottest.Bot, msgs ...string) string {
	var r string
	for _, m := range msgs {
		r = b.Say(m)
	}
	return r
}

func TestFlowBackendSignedRetriedOnce(t *testing.T) {
	for kind, stores := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			// The first call fails (503): it is retried with the same key,
			// and the backend acts once.
			be, srv := newBusinessBackend(t, func(n int, req flows.Request) (int, string) {
				if n == 1 {
					return http.StatusServiceUnavailable, ""
				}
				return http.StatusOK, `{"ok":true,"status":"processing","reference":"BX-778","message":"账单已生成"}`
			})
			b := bottest.New(t, bottest.Options{Stores: stores(t), Backend: be.backend(srv, "bill_export")})
			b.As("o_backend")
			reply := sayAll(b, "我要导出账单", "近3个月", "个人对账", "me@example.com", "是")
			if !strings.Contains(reply, "案件号 KF") {
				t.Fatalf("reply: %s", reply)
			}
			if len(be.calls) != 2 || be.calls[0].IdempotencyKey != be.calls[1].IdempotencyKey {
				t.Fatalf("calls %+v, want 2 with one key", be.calls)
			}
			got := be.calls[1]
			if got.Action != "bill_export" || got.Flow != "bill_export" || got.OpenID != "o_backend" ||
				got.Fields["email"] != "me@example.com" || got.Fields["period"] != "近3个月" {
				t.Errorf("request = %+v", got)
			}
			c := b.LatestCase()
			if c.Status != cases.StatusProcessing || c.ExternalID != "BX-778" || c.Last().Note != "账单已生成" {
				t.Errorf("case = %+v", c)
			}
			// A platform retry of the last message gets the same reply and
			// does not act again.
			if again := b.Retry(); again != reply {
				t.Errorf("retry reply %q, want %q", again, reply)
			}
			if len(be.calls) != 2 {
				t.Errorf("retry called the backend again: %d calls", len(be.calls))
			}
		})
	}
}

func TestFlowVerificationRefusedTwiceHandsOff(t *testing.T) {
	be, srv := newBusinessBackend(t, func(int, flows.Request) (int, string) {
		return http.StatusUnprocessableEntity, `{"message":"姓名与实名信息不一致"}`
	})
	b := bottest.New(t, bottest.Options{Backend: be.backend(srv, "unfreeze_account")})
	b.As("o_refused")
	reply := sayAll(b, "申请解冻", "1", "13800138000", "赵六", "11010519491231002X", "是")
	if !strings.Contains(reply, "姓名与实名信息不一致") || !strings.Contains(reply, "手机号") {
		t.Fatalf("first refusal: %s", reply)
	}
	reply = sayAll(b, "13800138000", "赵小六", "11010519491231002X", "是")
	if len(be.calls) != 2 || be.calls[0].IdempotencyKey == be.calls[1].IdempotencyKey {
		t.Errorf("the attempt after a refusal reused its key: %+v", be.calls)
	}
	if !strings.Contains(reply, "工单号") {
		t.Fatalf("second refusal: %s", reply)
	}
	tk := b.OpenTicket()
	if tk.Lane != handoff.LaneNormal || tk.Reasons[0] != "flow:account_unfreeze" {
		t.Errorf("ticket lane %s reasons %v", tk.Lane, tk.Reasons)
	}
	var data string
	for _, m := range tk.Messages {
		if m.Kind == "flow_data" {
			data = m.Text
		}
	}
	if !strings.Contains(data, "实名姓名：赵小六") || !strings.Contains(data, "1101**********002X") ||
		strings.Contains(data, "11010519491231002X") {
		t.Errorf("ticket data (ID numbers masked):\n%s", data)
	}
	if s := b.Session(); s.State != bot.StateQueued || s.Flow != nil {
		t.Errorf("session %s flow %v", s.State, s.Flow)
	}
}

func TestFlowBackendDownHandsOffWithData(t *testing.T) {
	be, srv := newBusinessBackend(t, func(int, flows.Request) (int, string) {
		return http.StatusBadGateway, "upstream down"
	})
	b := bottest.New(t, bottest.Options{Backend: be.backend(srv, "complaint")})
	b.As("o_down")
	reply := sayAll(b, "我要投诉", "功能问题", "消息经常收不到通知，已经重装过", "跳过")
	if !strings.Contains(reply, "业务系统暂时无法处理") || !strings.Contains(reply, "工单号") {
		t.Fatalf("reply: %s", reply)
	}
	if n := len(be.calls); n != 3 {
		t.Errorf("backend called %d times, want 3 (two retries)", n)
	}
	if tk := b.OpenTicket(); tk.Reasons[0] != "flow:complaint" {
		t.Errorf("reasons %v", tk.Reasons)
	}
}

// TestUrgentFlowStopsWhenAgentTakesOver: the freeze flow runs beside the
// emergency ticket; once an agent claims the ticket the bot says nothing
// more and the user's words go to the agent.
func TestUrgentFlowStopsWhenAgentTakesOver(t *testing.T) {
	for kind, stores := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			b := bottest.New(t, bottest.Options{Stores: stores(t)})
			b.As("o_taken")
			b.Say("号被盗了在借钱")
			b.Say("13800138000")
			if s := b.Session(); s.State != bot.StateFlow {
				t.Fatalf("state %s", s.State)
			}
			tk := b.OpenTicket()
			agent := handoff.Agent{ID: "a1", Name: "小王", Lanes: []string{handoff.LaneEmergency}, Capacity: 3}
			if _, err := b.Handoff.Claim(context.Background(), tk.ID, agent); err != nil {
				t.Fatal(err)
			}
			if reply := b.Say("张三"); reply != "" {
				t.Errorf("bot spoke while an agent has the ticket: %s", reply)
			}
			s := b.Session()
			if s.State != bot.StateAgent || s.Flow != nil {
				t.Errorf("session %s flow %v", s.State, s.Flow)
			}
			tk = b.OpenTicket()
			last := tk.Messages[len(tk.Messages)-1]
			if last.Text != "张三" {
				t.Errorf("last ticket message %q, want the user's", last.Text)
			}
		})
	}
}

func TestCaseStatusPrefilled(t *testing.T) {
	b := bottest.New(t, bottest.Options{})
	b.As("o_owner")
	sayAll(b, "我要投诉", "产品建议", "希望能支持按月导出账单", "跳过")
	c := b.LatestCase()
	if _, err := b.Cases.SetStatus(context.Background(), c.ID, cases.StatusResolved, "已转产品团队评估", "xiaowang"); err != nil {
		t.Fatal(err)
	}
	reply := b.Say("查询进度 " + strings.ToLower(c.ID))
	for _, want := range []string{c.ID, "已解决", "已转产品团队评估"} {
		if !strings.Contains(reply, want) {
			t.Errorf("reply lacks %q:\n%s", want, reply)
		}
	}
	if s := b.Session(); s.State != bot.StateBot || s.Flow != nil {
		t.Errorf("session %s flow %v", s.State, s.Flow)
	}
	// Somebody else cannot read it.
	b.As("o_stranger")
	if reply := b.Say("查询进度 " + c.ID); !strings.Contains(reply, "没有查到") || strings.Contains(reply, "已转产品团队评估") {
		t.Errorf("stranger's reply:\n%s", reply)
	}
}

func TestFlowRemovedByReload(t *testing.T) {
	b := bottest.New(t, bottest.Options{})
	b.As("o_reload")
	b.Say("我要导出账单")
	lanes := []string{"emergency", "minor", "enterprise", "care", "overseas", "normal"}
	all, err := flows.Builtin(lanes)
	if err != nil {
		t.Fatal(err)
	}
	var kept []*flows.Flow
	for _, f := range all {
		if f.ID != "bill_export" {
			kept = append(kept, f)
		}
	}
	reg, err := flows.NewRegistry(kept)
	if err != nil {
		t.Fatal(err)
	}
	b.Flows.SetRegistry(reg)
	b.Router.SetFlows(reg)
	if reply := b.Say("近3个月"); !strings.Contains(reply, "服务已更新") {
		t.Errorf("reply: %s", reply)
	}
	if s := b.Session(); s.State != bot.StateBot || s.Flow != nil {
		t.Errorf("session %s flow %v", s.State, s.Flow)
	}
}

// TestExpireIdleFlows: the sweep ends flows left idle past 30 min and tells
// the users through the customer-service API; a flow beside a queued
// ticket ends and the ticket stays; a flow still in use is left alone.
func TestExpireIdleFlows(t *testing.T) {
	for kind, stores := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			sender := &recordingSender{sent: make(chan string, 8)}
			b := bottest.New(t, bottest.Options{Stores: stores(t), Sender: sender})
			b.As("o_idle_bill")
			sayAll(b, "我要导出账单", "近3个月")
			b.As("o_idle_freeze")
			b.Say("号被盗了在借钱")
			b.Clock.Advance(20 * time.Minute)
			b.As("o_idle_busy")
			b.Say("我要投诉")
			b.Clock.Advance(11 * time.Minute)

			n, err := b.Engine.ExpireIdleFlows(context.Background(), 100)
			if err != nil || n != 2 {
				t.Fatalf("ExpireIdleFlows = %d, %v; want 2", n, err)
			}
			close(sender.sent)
			var sent []string
			for m := range sender.sent {
				sent = append(sent, m)
			}
			if len(sent) != 2 {
				t.Fatalf("sent %v, want two notices", sent)
			}
			for _, m := range sent {
				if !strings.Contains(m, "已自动结束") {
					t.Errorf("notice: %s", m)
				}
			}
			if s := b.As("o_idle_bill").Session(); s.State != bot.StateBot || s.Flow != nil {
				t.Errorf("bill: %s flow %v", s.State, s.Flow)
			}
			if s := b.As("o_idle_freeze").Session(); s.State != bot.StateQueued || s.Flow != nil || s.TicketID == "" {
				t.Errorf("freeze: %s flow %v ticket %q", s.State, s.Flow, s.TicketID)
			}
			if s := b.As("o_idle_busy").Session(); s.Flow == nil {
				t.Error("a flow 11 minutes idle was ended")
			}
			// Nothing more to do: a second sweep (another instance) ends none.
			if n, err := b.Engine.ExpireIdleFlows(context.Background(), 100); err != nil || n != 0 {
				t.Errorf("second sweep = %d, %v", n, err)
			}
		})
	}
}

// TestFlowEnglishCaseInChinese: an English-speaking user answers with
// English labels; the case (for agents and the backend) keeps the
// choices as the flow defines them.
func TestFlowEnglishCaseInChinese(t *testing.T) {
	b := bottest.New(t, bottest.Options{})
	b.As("o_en_case")
	sayAll(b, "I want to export my bill", "Last year", "personal records", "me@example.com", "yes")
	got := map[string]string{}
	for _, f := range b.LatestCase().Fields {
		got[f.Name] = f.Value
	}
	if got["period"] != "近1年" || got["purpose"] != "个人对账" {
		t.Errorf("case fields %v, want the defined choices", got)
	}
}

// failingSave fails the next save with bot.ErrConflict when armed, as if
// another instance had written the session.
type failingSave struct {
	bot.SessionStore
	armed *atomic.Bool
}

func (f failingSave) SaveSession(ctx context.Context, s *bot.Session) error {
	if f.armed.CompareAndSwap(true, false) {
		return bot.ErrConflict
	}
	return f.SessionStore.SaveSession(ctx, s)
}

// TestFlowCaseOpenedOnceWhenTheTurnRunsAgain: the turn that opens the case
// fails to save (the user is asked to send again) and runs again: the
// user still has one case.
func TestFlowCaseOpenedOnceWhenTheTurnRunsAgain(t *testing.T) {
	var armed atomic.Bool
	b := bottest.New(t, bottest.Options{Wrap: func(s bot.SessionStore) bot.SessionStore { return failingSave{s, &armed} }})
	b.As("o_twice")
	sayAll(b, "我要导出账单", "近3个月", "个人对账", "me@example.com")
	armed.Store(true)
	in := bot.Inbound{OpenID: "o_twice", Kind: bot.KindText, Text: "是", MsgID: "77001", CreateTime: b.Clock.Now()}
	if _, err := b.Engine.Handle(context.Background(), in); err == nil {
		t.Fatal("the first run saved despite the conflict")
	}
	b.Clock.Advance(time.Second) // the failed message's dedupe key, forgotten, expires
	reply, err := b.Engine.Handle(context.Background(), in)
	if err != nil || !strings.Contains(reply.Text, "案件号") {
		t.Fatalf("second run: %q, %v", reply.Text, err)
	}
	if list, err := b.Cases.ForUser(context.Background(), "o_twice", 10); err != nil || len(list) != 1 {
		t.Errorf("user has %d cases (%v), want 1", len(list), err)
	}
}
