package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kefuhq/kefu/kb"
	"github.com/kefuhq/kefu/wxapi/wxapitest"
)

// What the agent's browser test says, as the agent and as WeChat users.
const (
	agReply    = "您好，我来帮您处理"
	agLate     = "请问问题解决了吗？"
	agNote     = "内部备注：已核实用户身份"
	agMore     = "补充：订单号 20261125001"
	agPassword = "agent password"
)

// TestAgentBrowser drives the agent panel in headless Chromium against
// the real kefu binary, with WeChat users talking to its signed webhook
// and a fake WeChat API taking the replies: a user's 转人工 opens a ticket
// that the agent, signed in, sees in its lane's queue; the agent claims
// it, sees the reply quota, replies (the fake API receives the text), and
// sees the user's next message — markup, which must stay text — arrive in
// the open conversation without a reload; an internal note; a second
// user's ticket shows up live with a title badge; closing with the
// resolution "resolved" takes the ticket out of 我的会话, and claim-next
// takes the second one. On the way, the agent searches the canned
// replies for 账单导出 and inserts the article's answer into the reply box,
// and the transfer dropdown lists the agents of the directory, the agent
// itself online. Then, on the second ticket: a reply that WeChat refuses
// with 45015 shows as not delivered, with why; the agent (capacity 1) is
// refused a second ticket; releases the ticket to the queue, claims it
// again and transfers it to li; claims a third user's ticket, into which
// another channel merges a request, and undoes that merge, which splits
// it out into a ticket of its own. Last, a fourth user's emergency freeze
// (a self-service flow) opens a case; its number in the ticket's flow line
// links to the case, on the cases page. No page may log an error, break
// the CSP or call alert.
func TestAgentBrowser(t *testing.T) {
	node := needNode(t)
	chrome := needChromium(t)
	bin := buildKefu(t)
	k, fake := startAgentKefu(t, bin, node)
	admin := k.signIn(t, "admin", k.adminPassword)
	newAgent := func(username string, capacity int) string {
		acc := k.apiCall(t, http.MethodPost, admin, "/api/v1/agents", map[string]any{"username": username, "password": agPassword,
			"role": "agent", "name": username, "lanes": []string{"normal"}, "capacity": capacity})
		id, _ := acc["id"].(string)
		return id
	}
	newAgent("wang", 1)
	liID := newAgent("li", 5)
	suffix := "_" + randHex(4)
	user, user2, user3 := "o_e2e_agent1"+suffix, "o_e2e_agent2"+suffix, "o_e2e_agent3"+suffix
	k.sayAs(t, user, "转人工")

	b := newBrowser(t, chrome)
	shots := screenshots(t)

	// The panel sends a stranger to sign in and comes back.
	b.do(t, "open the panel", chromedp.Navigate(k.base+"/panel/agent"), chromedp.WaitVisible(chromedp.ID("login-username")))
	b.login(t, "wang", agPassword, "lanes")
	if p := b.eval(t, "location.pathname"); p != "/panel/agent" {
		t.Errorf("signed in at %s, want /panel/agent", p)
	}
	// /panel leads an agent to this panel.
	b.do(t, "open /panel", chromedp.Navigate(k.base+"/panel"), chromedp.WaitVisible(chromedp.ID("lanes")))
	if p := b.eval(t, "location.pathname"); p != "/panel/agent" {
		t.Errorf("an agent at /panel landed on %s, want /panel/agent", p)
	}

	// The lane counts the waiting ticket; the queue lists it.
	b.waitText(t, `#lanes .lane[data-lane="normal"] .lane-waiting`, "1")
	b.waitJS(t, "the ticket in the queue", `document.querySelectorAll('#queue .ticket').length === 1`)
	id := b.eval(t, `document.querySelector('#queue .ticket').dataset.id`)
	t.Logf("ticket %s", id)
	b.waitText(t, "#queue .ticket .sla", "剩")
	b.do(t, "open the queued ticket", chromedp.Click(chromedp.CSS("#queue .ticket .ticket-id")), chromedp.WaitVisible(chromedp.ID("conv-claim")))
	b.waitText(t, "#conv-openid", user)
	b.waitText(t, "#transcript .msg-user", "转人工")
	// The transfer dropdown lists the directory: the agent itself, online
	// (its panel streams live events), and li, offline.
	b.waitJS(t, "the agents in the transfer dropdown", `(() => {
		const opts = [...document.querySelectorAll('#transfer-agent option')].map((o) => o.textContent);
		return opts.includes('● wang（我）') && opts.includes('○ li');
	})()`)
	shots.take(t, b, "agent-queue")

	// Claim it: it moves to my sessions, and the reply box shows the quota.
	b.do(t, "claim", chromedp.Click(chromedp.ID("conv-claim")), chromedp.WaitVisible(chromedp.ID("reply-text")))
	b.waitText(t, "#conv-status", "assigned")
	b.waitJS(t, "the ticket in my sessions", fmt.Sprintf(`!!document.querySelector('#mine .ticket[data-id=%s]')`, jsString(id)))
	b.waitJS(t, "the queue empty", `!!document.getElementById('queue-empty')`)
	b.waitText(t, "#quota", "剩余 5/5 条，窗口")
	// On a phone the conversation and its actions fit the screen's width.
	b.do(t, "a phone's screen", chromedp.EmulateViewport(390, 844))
	b.waitJS(t, "nothing wider than the phone", `document.documentElement.scrollWidth <= window.innerWidth && !!document.getElementById('close-send')?.offsetWidth`)
	b.do(t, "back to the desktop", chromedp.EmulateViewport(windowWidth, windowHeight))
	// Once wang holds the ticket, the dropdown offers the others.
	b.waitJS(t, "li but not wang to transfer to", `(() => {
		const opts = [...document.querySelectorAll('#transfer-agent option')].map((o) => o.textContent);
		return opts.includes('○ li') && !opts.includes('● wang（我）');
	})()`)

	// Canned replies: search the knowledge base and insert an answer into
	// the reply box, to edit before sending (nothing is sent).
	articles, err := kb.Default()
	if err != nil {
		t.Fatal(err)
	}
	var billAnswer string
	for _, a := range articles {
		if a.ID == "bill-export" {
			billAnswer = a.Answer
		}
	}
	if billAnswer == "" {
		t.Fatal("the default knowledge base has no bill-export article")
	}
	sentBefore := len(fake.Sent())
	b.do(t, "open the canned replies", chromedp.Click(chromedp.CSS("#canned summary")), chromedp.WaitVisible(chromedp.ID("canned-q")))
	b.fill(t, map[string]string{"canned-q": "账单导出"})
	b.waitJS(t, "bill-export among the canned replies", `!!document.querySelector('#canned-list .canned-item[data-id="bill-export"]')`)
	b.do(t, "insert the answer", chromedp.Click(chromedp.CSS(`#canned-list .canned-item[data-id="bill-export"] .canned-use`)))
	if got := b.eval(t, "document.getElementById('reply-text').value"); got != billAnswer {
		t.Errorf("the reply box holds %q, want the article's answer %q", got, billAnswer)
	}
	if len(fake.Sent()) != sentBefore {
		t.Error("inserting a canned reply sent something")
	}

	// Reply: the fake WeChat API receives it.
	b.fill(t, map[string]string{"reply-text": agReply})
	b.do(t, "send the reply", chromedp.Click(chromedp.ID("reply-send")))
	b.waitJS(t, "the reply delivered", `document.getElementById('reply-result').dataset.kind === 'ok'`)
	b.waitText(t, "#transcript .msg-agent", agReply)
	b.waitText(t, "#quota", "剩余 4/5 条")
	ctx, cancel := context.WithTimeout(t.Context(), stepTimeout)
	sent, err := fake.WaitSentTo(ctx, user, 1)
	cancel()
	if err != nil || !containsSent(sent, agReply) {
		t.Errorf("the fake WeChat API got %+v (%v), want a custom/send of %q to %s", sent, err, agReply, user)
	}

	// The user writes again, in markup: it shows up in the open
	// conversation, live (the page is not reloaded), as text.
	b.do(t, "mark the page", chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true`))
	k.sayAs(t, user, xssText)
	b.waitJS(t, "the user's markup in the transcript", fmt.Sprintf(
		`[...document.querySelectorAll('#transcript .msg-user .msg-text')].some((n) => n.textContent === %s)`, jsString(xssText)))
	if v := b.eval(t, "window.__sameDocument === true"); v != "true" {
		t.Error("the page reloaded to show the user's message; it should arrive live")
	}
	b.noImages(t, "the conversation")

	// An internal note.
	b.fill(t, map[string]string{"note-text": agNote})
	b.do(t, "add a note", chromedp.Click(chromedp.ID("note-send")))
	b.waitText(t, "#transcript .msg-note", agNote)
	shots.take(t, b, "agent-conversation")

	// Another user asks for a person: the queue shows it live, and the
	// title counts the new work.
	k.sayAs(t, user2, "转人工")
	b.waitJS(t, "the second ticket in the queue", `document.querySelectorAll('#queue .ticket').length === 1`)
	b.waitJS(t, "the title badge", `document.title.startsWith('(1) ')`)

	// Close as resolved: the ticket leaves my sessions.
	b.do(t, "close as resolved", chromedp.SetValue(chromedp.ID("close-resolution"), "resolved"), chromedp.Click(chromedp.ID("close-send")))
	b.waitText(t, "#conv-status", "closed")
	b.waitJS(t, "my sessions empty", fmt.Sprintf(
		`!document.querySelector('#mine .ticket[data-id=%s]') && !!document.getElementById('mine-empty')`, jsString(id)))
	if b.eval(t, "document.title.startsWith('(')") != "false" {
		t.Error("the title badge stayed after the agent clicked")
	}

	// Claim next takes the second user's ticket; then nobody is waiting.
	b.do(t, "claim next", chromedp.Click(chromedp.ID("claim-next")))
	b.waitText(t, "#conv-openid", user2)
	b.waitText(t, "#conv-status", "assigned")
	b.do(t, "claim next again", chromedp.Click(chromedp.ID("claim-next")))
	b.waitText(t, "#claim-msg", "没有等待中的会话")

	// WeChat refuses the next reply with 45015 (the user's window
	// closed): it stays in the transcript, marked not delivered, with why.
	fake.FailNext(45015, 1)
	b.fill(t, map[string]string{"reply-text": agLate})
	b.do(t, "send a reply WeChat refuses", chromedp.Click(chromedp.ID("reply-send")))
	b.waitJS(t, "the refusal shown", `document.getElementById('reply-result').dataset.kind === 'error'`)
	b.waitText(t, "#reply-result", "未送达")
	b.waitJS(t, "the reply marked not delivered, with why", fmt.Sprintf(`[...document.querySelectorAll('#transcript .msg-undelivered')].some((n) =>
		n.querySelector('.msg-text').textContent === %s && n.querySelector('.msg-delivery').textContent.includes('48 小时窗口已关闭'))`, jsString(agLate)))

	// At capacity (1): with user2's ticket held, claim-next is refused.
	k.sayAs(t, user3, "转人工")
	b.waitJS(t, "the third ticket in the queue", `document.querySelectorAll('#queue .ticket').length === 1`)
	b.do(t, "claim next at capacity", chromedp.Click(chromedp.ID("claim-next")))
	b.waitJS(t, "the claim refused at capacity", `document.getElementById('claim-msg').dataset.code === 'at_capacity'`)
	b.waitText(t, "#claim-msg", "上限")

	// Release: user2's ticket goes back to the queue, out of my sessions.
	id2 := b.eval(t, "document.getElementById('conv-ticket').textContent")
	b.do(t, "release", chromedp.Click(chromedp.ID("release")))
	b.waitText(t, "#conv-status", "queued")
	b.waitJS(t, "both tickets waiting", `document.querySelectorAll('#queue .ticket').length === 2`)
	b.waitJS(t, "my sessions empty after the release", `!!document.getElementById('mine-empty')`)

	// Claim it again and transfer it to li: it leaves my sessions, li
	// holds it.
	b.do(t, "claim again", chromedp.Click(chromedp.ID("conv-claim")))
	b.waitText(t, "#conv-status", "assigned")
	b.do(t, "transfer to li", chromedp.SetValue(chromedp.ID("transfer-agent"), liID), chromedp.Click(chromedp.ID("transfer-send")))
	b.waitJS(t, "my sessions empty after the transfer", `!!document.getElementById('mine-empty')`)
	if got := k.apiCall(t, http.MethodGet, admin, "/api/v1/tickets/"+id2, nil); got["agent_id"] != liID || got["status"] != "assigned" {
		t.Errorf("after the transfer, %s is %v with %v; want assigned to li (%s)", id2, got["status"], got["agent_id"], liID)
	}

	// Claim user3's ticket; another channel merges a request into it;
	// undo that merge: it becomes a ticket of its own, in the queue.
	b.do(t, "claim the third", chromedp.Click(chromedp.ID("claim-next")))
	b.waitText(t, "#conv-openid", user3)
	id3 := b.eval(t, "document.getElementById('conv-ticket').textContent")
	k.apiCall(t, http.MethodPost, admin, "/api/v1/tickets", map[string]any{"open_id": user3, "text": agMore, "channel": "web"})
	b.waitJS(t, "the merged request in the transcript", fmt.Sprintf(
		`[...document.querySelectorAll('#transcript .msg-user .msg-text')].some((n) => n.textContent === %s)`, jsString(agMore)))
	b.do(t, "undo the merge", chromedp.Click(chromedp.CSS(`#transcript .merge-audit[data-merge="1"] .merge-undo`)))
	b.waitText(t, `#transcript .merge-audit[data-merge="1"] a`, id3+"-M1")
	b.waitJS(t, "the split ticket in the queue", fmt.Sprintf(`!!document.querySelector('#queue .ticket[data-id=%s]')`, jsString(id3+"-M1")))
	b.noImages(t, "the panel")

	// A fourth user freezes their account through the self-service flow:
	// it opens a case and queues them in the emergency lane, the case
	// number in the ticket's flow line. Moved to wang's lane, the ticket
	// shows that number as a link, which opens the case on the cases page.
	user4 := "o_e2e_agent4" + suffix
	for _, text := range []string{"紧急冻结", "13800138000", "张三", "是"} {
		k.sayAs(t, user4, text)
	}
	var found []struct {
		ID       string `json:"id"`
		TicketID string `json:"ticket_id"`
	}
	k.getJSON(t, admin, "/api/v1/cases?open_id="+user4, &found)
	if len(found) != 1 || found[0].TicketID == "" {
		t.Fatalf("the frozen user's cases: %+v, want one, with its ticket", found)
	}
	caseID, id4 := found[0].ID, found[0].TicketID
	k.apiCall(t, http.MethodPost, admin, "/api/v1/tickets/"+id4+"/transfer", map[string]any{"lane": "normal"})
	b.do(t, "open the frozen user's ticket", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = %s`, jsString("#/ticket/"+id4))))
	b.waitText(t, "#conv-openid", user4)
	caseLink := fmt.Sprintf(`#transcript .msg-system .msg-text a.case-link[href$=%s]`, jsString("#/case/"+caseID))
	b.waitText(t, caseLink, caseID)
	b.waitJS(t, "the rest of the flow line as text", fmt.Sprintf(`(() => {
		const line = document.querySelector(%s).parentNode;
		return line.textContent.includes('13800138000') && line.textContent.endsWith('案件号：' + %s) && line.children.length === 1;
	})()`, jsString(caseLink), jsString(caseID)))
	b.do(t, "follow the case link", chromedp.Click(chromedp.CSS(caseLink)), chromedp.WaitVisible(chromedp.ID("case-id")))
	b.waitText(t, "#case-id", caseID)
	b.waitText(t, "#case-flow", "emergency_freeze")
	if p := b.eval(t, "location.pathname"); p != "/panel/cases" {
		t.Errorf("the case link led to %s, want /panel/cases", p)
	}
	b.checkProblems(t)
}

// startAgentKefu starts kefu in safe mode on the embedded store, with a
// fake WeChat API (returned, to see what the agent's replies sent), and
// writes driver.js's configuration.
func startAgentKefu(t *testing.T, bin, node string) (*editorKefu, *wxapitest.Server) {
	t.Helper()
	acct := newAccount()
	fake := wxapitest.NewServer()
	t.Cleanup(fake.Close)
	fake.SetCredentials(acct.AppID, acct.Secret)
	addr := freeAddr(t)
	k := &editorKefu{base: "http://" + addr, adminPassword: randHex(12), node: node}
	startKefu(t, bin, serveEnv(t, addr, acct, fake.URL(), k.adminPassword), k.base)
	cfg, _ := json.Marshal(map[string]any{
		"url": k.base + "/wechat", "token": acct.Token, "aesKey": acct.AESKey, "appid": acct.AppID,
		"gh": acct.GH, "mode": "aes", "sentURL": fake.URL() + "/_sent",
	})
	k.cfgPath = filepath.Join(t.TempDir(), "driver.json")
	if err := os.WriteFile(k.cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	return k, fake
}

// sayAs sends text to the webhook through driver.js as the user openID,
// signed and encrypted as WeChat would, once.
func (k *editorKefu) sayAs(t *testing.T, openID, text string) {
	t.Helper()
	transcript := filepath.Join(t.TempDir(), "say.txt")
	if err := os.WriteFile(transcript, []byte("user: "+openID+"\n> "+text+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.node, "driver.js", "--config", k.cfgPath, transcript)
	cmd.Env = childEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("webhook %s %q: %v\n%s", openID, text, err, strings.TrimSpace(stderr.String()))
	}
	t.Logf("webhook: %s", strings.TrimSpace(string(out)))
}

// getJSON GETs path with token and decodes the JSON answer into v.
func (k *editorKefu) getJSON(t *testing.T, token, path string, v any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, k.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// containsSent reports whether one of msgs is text.
func containsSent(msgs []wxapitest.SentMessage, text string) bool {
	for _, m := range msgs {
		if m.Text == text {
			return true
		}
	}
	return false
}
