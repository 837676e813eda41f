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

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Environment the editor's browser test reads, besides those of
// e2e_test.go:
//
//	KEFU_E2E_CHROMIUM  the browser to drive, default /usr/bin/chromium (or
//	                   chromium on PATH)
//	KEFU_SCREENSHOTS   1: save screenshots of the editor's screens to
//	                   docs/screenshots/*.png
const (
	browserTimeout = 2 * time.Minute
	stepTimeout    = 15 * time.Second
	// publishDelay bounds how long a publish takes to reach the bot
	// (kefu reloads its index asynchronously, within a second).
	publishDelay = 5 * time.Second
	windowWidth  = 1280
	windowHeight = 800
)

// The article the test writes, publishes, edits and rolls back. The
// question is unlike anything in the default knowledge base.
const (
	edQuestion = "蓝色企鹅会员卡的编号在哪里查看"
	edAnswerV1 = "蓝色企鹅会员卡的编号印在卡片背面，以 A-1001 开头。"
	edAnswerV2 = "蓝色企鹅会员卡的编号在“我的-卡包”中查看，以 B-2002 开头。"
	// xssText would run script if the pages inserted text as HTML.
	xssText = `<img src=x onerror=alert(1)>`
	// unknownQuestion is asked before the pages open, so that the
	// unanswered queue has it.
	unknownQuestion = "火星上的快递多久能送到地球"
)

// problemsScript runs in every page before its own scripts: it records
// uncaught errors, failed resource loads, unhandled rejections, CSP
// violations and alert() calls in window.__kefuProblems.
const problemsScript = `(() => {
  const p = window.__kefuProblems = [];
  addEventListener('error', (e) => p.push('error: ' + (e.message || ('failed to load ' + (e.target && e.target.outerHTML)))), true);
  addEventListener('unhandledrejection', (e) => p.push('unhandled rejection: ' + ((e.reason && e.reason.message) || e.reason)));
  document.addEventListener('securitypolicyviolation', (e) => p.push('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));
  window.alert = (m) => p.push('alert(' + m + ')');
})();`

// TestEditorBrowser drives the knowledge-base editor in headless Chromium
// against the real kefu binary, and asks the bot through the webhook, as
// WeChat would, whether each publish reached it: create an article and
// publish it, edit and publish, roll back to version 1 and publish. It also
// checks a save that another save overtook (409), that editor text is
// shown as text (never as HTML), the test console, the unanswered queue
// (add to an article, dismiss, start a new article), an import dry run and
// apply, the list's filters, and that an account that is not an editor is
// told it has no permission. No page may log an error, break the CSP or
// call alert.
func TestEditorBrowser(t *testing.T) {
	node := needNode(t)
	chrome := needChromium(t)
	bin := buildKefu(t)
	k := startEditorKefu(t, bin, node)
	k.say(t, "", unknownQuestion, unknownQuestion, "能帮我预订下周去月球的船票吗", "你们的吉祥物叫什么名字")

	b := newBrowser(t, chrome)
	shots := screenshots(t)

	// /panel sends a stranger to sign in, and then by role: an admin to
	// the agent panel. The editor sends a stranger to sign in too, and
	// comes back.
	b.do(t, "open /panel", chromedp.Navigate(k.base+"/panel"), chromedp.WaitVisible(chromedp.ID("login-username")))
	if u := b.eval(t, "location.pathname + location.search"); u != "/panel/login" {
		t.Errorf("a stranger at /panel landed on %s, want the sign-in page", u)
	}
	// A wrong password is told in the page's words.
	b.do(t, "a wrong password", chromedp.SetValue(chromedp.ID("login-username"), "admin"),
		chromedp.SetValue(chromedp.ID("login-password"), "not the password"), chromedp.Click(chromedp.ID("login-submit")))
	b.waitText(t, "#notice", "用户名或密码错误 (wrong username or password)")
	b.do(t, "clear the form", chromedp.Evaluate[chromedp.Void](`document.getElementById('login-form').reset()`))
	b.login(t, "admin", k.adminPassword, "lanes")
	b.do(t, "open the editor", chromedp.Navigate(k.base+"/panel/kb"), chromedp.WaitVisible(chromedp.ID("kb-list")))

	// Create and publish; the bot answers with it.
	b.do(t, "new article", chromedp.Click(chromedp.ID("kb-new")), chromedp.WaitVisible(chromedp.ID("f-question")))
	// The lane and flow fields offer the configured lanes and existing flows.
	b.waitJS(t, "the lanes and flows offered", `document.querySelector('#lanes option[value=emergency]') !== null &&
	  document.querySelector('#flows option[value=bill_export]') !== null`)
	b.fill(t, map[string]string{
		"f-title": "会员卡编号", "f-question": edQuestion, "f-similar": "会员卡编号怎么查\n企鹅卡号在哪",
		"f-answer": edAnswerV1, "f-category": "浏览器测试", "f-tags": "e2e, 会员卡", "f-note": "第一版",
	})
	// Tab goes through every field, the settings too, before the note and
	// the buttons (which the page shows first, in their sticky card).
	for from, want := range map[string]string{"f-answer-en": "f-id", "f-flow": "f-note"} {
		b.do(t, "tab from "+from, chromedp.Focus(chromedp.ID(from)), chromedp.KeyEvent("\t"))
		if got := b.eval(t, "document.activeElement.id"); got != want {
			t.Errorf("Tab from #%s went to #%s, want #%s", from, got, want)
		}
	}
	b.do(t, "save the new article", chromedp.Click(chromedp.ID("btn-save")), chromedp.WaitVisible(chromedp.ID("btn-publish")))
	// The side column, which scrolls on its own, ends inside the window
	// even at the page's top, where it starts lower than once it sticks.
	sideFits := `(() => {
	  const r = document.querySelector('.editor-side').getBoundingClientRect();
	  return r.top > 100 && r.bottom <= window.innerHeight && r.bottom > window.innerHeight - 40;
	})()`
	b.waitJS(t, "the side column inside the window", `window.scrollY === 0 && `+sideFits)
	// So it does when a message above the form pushes it down.
	b.fill(t, map[string]string{"f-question": ""})
	b.do(t, "save without a question", chromedp.Click(chromedp.ID("btn-save")), chromedp.WaitVisible(chromedp.CSS("#editor-alert .alert")))
	b.waitJS(t, "the side column inside the window, under the message", `window.scrollY === 0 && `+sideFits)
	b.fill(t, map[string]string{"f-question": edQuestion})
	// Scrolling to the end, again and again, does not lengthen the page.
	b.do(t, "note the page's length", chromedp.Evaluate[chromedp.Void](`window.pageLength = document.documentElement.scrollHeight`))
	for range 5 {
		b.do(t, "scroll to the end", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 1e6)`), chromedp.Sleep(50*time.Millisecond))
	}
	if grown := b.eval(t, `document.documentElement.scrollHeight - window.pageLength`); grown != "0" {
		t.Errorf("scrolling the editor to its end five times lengthened the page by %s px", grown)
	}
	b.do(t, "back to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	id := b.eval(t, "decodeURIComponent(location.hash.split('/')[2])")
	t.Logf("article %s created", id)
	shots.take(t, b, "editor")
	b.publish(t, "btn-publish")
	k.say(t, "A-1001", edQuestion)

	// Edit, save, publish; the bot answers with the new text.
	b.fill(t, map[string]string{"f-answer": edAnswerV2, "f-note": "改为在卡包查看"})
	// Ctrl+S saves wherever the focus is (here: nowhere, after a click on the title).
	b.do(t, "save the edit with Ctrl+S", chromedp.Click(chromedp.ID("editor-title")),
		chromedp.KeyEvent("s", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	b.waitJS(t, "the edit saved as a pending draft", `document.querySelector('#editor-state [data-pending]') !== null`)
	// A save from a field leaves the focus and the caret where they were.
	b.do(t, "save again from the answer", chromedp.Evaluate[chromedp.Void](`(() => {
	  const a = document.getElementById('f-answer'); a.focus(); a.setSelectionRange(3, 3); window.oldAnswer = a;
	})()`), chromedp.KeyEvent("s", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	b.waitJS(t, "the caret where it was, in the redrawn form", `document.activeElement.id === 'f-answer' &&
	  document.activeElement !== window.oldAnswer && document.activeElement.selectionStart === 3`)
	b.publish(t, "btn-publish")
	k.say(t, "B-2002", edQuestion)

	// History: the diff of version 2, then roll back to version 1 and
	// publish; the bot answers with the old text again.
	b.do(t, "open history", chromedp.Click(chromedp.ID("link-history")), chromedp.WaitVisible(chromedp.ID("history-list")))
	b.waitText(t, "#diff", "A-1001")
	b.waitText(t, "#diff", "B-2002")
	// Both publishes are in the log, newest first, with who did them.
	if log := b.eval(t, `[...document.querySelectorAll('#status-log li')].map((li) => li.textContent).join(' | ')`); !strings.Contains(log, "发布版本 2") ||
		!strings.Contains(log, "发布版本 1") || strings.Index(log, "发布版本 2") > strings.Index(log, "发布版本 1") {
		t.Errorf("publish log = %q, want versions 2 then 1 published", log)
	}
	shots.take(t, b, "history")
	b.do(t, "roll back to version 1",
		chromedp.Click(chromedp.CSS(`#history-list tr[data-version="1"] [data-action=rollback]`)),
		chromedp.WaitVisible(chromedp.ID("btn-publish-rollback")))
	b.waitText(t, "#rollback-result", "版本 3")
	b.do(t, "publish the rollback", chromedp.Click(chromedp.ID("btn-publish-rollback")))
	b.waitJS(t, "version 3 published", `(() => {
	  const row = document.querySelector('#history-list tr[data-version="3"]');
	  return !!row && row.textContent.includes('已发布');
	})()`)
	k.say(t, "A-1001", edQuestion)

	// The test console asks the live bot.
	b.do(t, "open the test console", chromedp.Click(chromedp.ID("nav-test")), chromedp.WaitVisible(chromedp.ID("test-question")))
	b.fill(t, map[string]string{"test-question": edQuestion})
	b.do(t, "test a question", chromedp.Click(chromedp.ID("test-run")), chromedp.WaitVisible(chromedp.ID("test-matches")))
	if kind := b.eval(t, "document.getElementById('test-decision').dataset.kind"); kind != "answer" {
		t.Errorf("test console decision for %q: %s, want answer", edQuestion, kind)
	}
	b.waitText(t, "#test-answer", "A-1001")
	b.waitText(t, "#test-matches", edQuestion)
	shots.take(t, b, "console")

	// Text that looks like HTML stays text: in the list, the editor and
	// the console.
	b.do(t, "new article with markup", chromedp.Click(chromedp.ID("nav-articles")), chromedp.WaitVisible(chromedp.ID("kb-new")),
		chromedp.Click(chromedp.ID("kb-new")), chromedp.WaitVisible(chromedp.ID("f-question")))
	b.fill(t, map[string]string{"f-title": xssText, "f-question": xssText + " 标记测试", "f-answer": xssText, "f-id": "e2e-markup"})
	b.do(t, "save the article with markup", chromedp.Click(chromedp.ID("btn-save")), chromedp.WaitVisible(chromedp.ID("btn-publish")))
	b.waitText(t, "#editor-title", xssText)
	if v := b.eval(t, "document.getElementById('f-answer').value"); v != xssText {
		t.Errorf("editor shows the answer as %q, want %q", v, xssText)
	}
	b.noImages(t, "the editor")

	// Someone else saves meanwhile: the page's save is refused with who
	// did it, and the latest version can be loaded.
	token := k.signIn(t, "admin", k.adminPassword)
	k.apiCall(t, http.MethodPut, token, "/api/v1/kb/articles/e2e-markup", map[string]any{"base_version": 1,
		"question": xssText + " 标记测试", "answer": "别人先保存的答案", "note": "并发修改"})
	b.fill(t, map[string]string{"f-answer": "我后保存的答案"})
	b.do(t, "save over another save", chromedp.Click(chromedp.ID("btn-save")), chromedp.WaitVisible(chromedp.ID("btn-reload")))
	b.waitText(t, "#editor-alert", "已被修改")
	b.do(t, "load the latest version", chromedp.Click(chromedp.ID("btn-reload")))
	b.waitJS(t, "the latest version loaded", `document.getElementById('f-answer').value === '别人先保存的答案'`)
	// Someone saves again while the page shows version 2: publishing it
	// is refused rather than putting their unreviewed draft live, and
	// the page loads version 3 to be looked at.
	k.apiCall(t, http.MethodPut, token, "/api/v1/kb/articles/e2e-markup", map[string]any{"base_version": 2,
		"question": xssText + " 标记测试", "answer": "别人再次保存的答案", "note": "又一次并发修改"})
	b.do(t, "publish a version that is no longer the latest", chromedp.Click(chromedp.ID("btn-publish")))
	b.waitText(t, "#notice", "在你查看后又被保存")
	b.waitJS(t, "version 3 loaded", `document.getElementById('f-answer').value === '别人再次保存的答案'`)
	if h := k.apiCall(t, http.MethodGet, token, "/api/v1/kb/articles/e2e-markup", nil)["head"].(map[string]any); h["published_version"] != float64(0) {
		t.Errorf("after a refused publish e2e-markup is published at %v, want unpublished", h["published_version"])
	}
	// Leaving with unsaved edits asks first (window.confirm, answered
	// here): "stay" keeps the page and the edits; "leave" goes.
	b.fill(t, map[string]string{"f-answer": "还没保存的修改"})
	b.do(t, "leave with unsaved edits, and stay",
		chromedp.Evaluate[chromedp.Void](`window.confirm = (m) => { window.asked = m; return false; }`),
		chromedp.Click(chromedp.ID("nav-articles")))
	b.waitJS(t, "asked before leaving", `String(window.asked).includes('未保存')`)
	if v := b.eval(t, `(document.getElementById('f-answer') || {}).value || location.hash`); v != "还没保存的修改" {
		t.Errorf("after choosing to stay the answer field holds %q, want the unsaved edit", v)
	}
	if h := b.eval(t, `location.hash`); !strings.HasPrefix(h, "#/article/") {
		t.Errorf("after choosing to stay the address is %q, want the article's", h)
	}
	b.do(t, "list", chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.Click(chromedp.ID("nav-articles")), chromedp.WaitVisible(chromedp.ID("kb-list")))
	b.waitText(t, "#kb-list", xssText)
	b.noImages(t, "the list")
	b.do(t, "test the markup against the drafts",
		chromedp.Evaluate[chromedp.Void]("location.hash = '#/test?' + new URLSearchParams({against: 'draft', q: "+jsString(xssText)+"})"),
		chromedp.WaitVisible(chromedp.ID("test-matches")))
	b.waitText(t, "#test-matches", xssText)
	b.noImages(t, "the test console")

	// The unanswered queue has the question asked first; add it to the
	// article as a similar question.
	b.do(t, "open the unanswered queue", chromedp.Click(chromedp.ID("nav-unanswered")), chromedp.WaitVisible(chromedp.ID("ua-list")))
	b.waitText(t, "#ua-list", unknownQuestion)
	shots.take(t, b, "unanswered")
	b.do(t, "add it to the article",
		chromedp.Click(chromedp.CSS("#ua-list .ua-group .ua-resolve")),
		chromedp.WaitVisible(chromedp.CSS("#ua-list .ua-article")),
		chromedp.SetValue(chromedp.CSS("#ua-list .ua-article"), id),
		chromedp.Click(chromedp.CSS("#ua-list .ua-add")))
	b.waitText(t, "#ua-done", unknownQuestion)
	// Another is dismissed; the last starts a new article.
	b.clickIn(t, "#ua-list .ua-group", "吉祥物", ".ua-dismiss")
	b.waitJS(t, "the dismissed group gone", `!document.getElementById('ua-list').textContent.includes('吉祥物')`)
	b.clickIn(t, "#ua-list .ua-group", "月球", ".ua-new")
	b.waitJS(t, "the new article's question", `document.getElementById('f-question')?.value === '能帮我预订下周去月球的船票吗'`)
	b.fill(t, map[string]string{"f-answer": "我们不提供船票预订服务。", "f-kind": "boundary"})
	b.do(t, "save the article from the queue", chromedp.Click(chromedp.ID("btn-save")), chromedp.WaitVisible(chromedp.ID("btn-publish")))
	b.do(t, "back to the queue", chromedp.Click(chromedp.ID("nav-unanswered")), chromedp.WaitVisible(chromedp.ID("ua-empty")))

	// Import: the dry run reports the new row and the bad one by its
	// number, and what publishing would publish; then the valid rows are
	// applied, as drafts.
	csvPath := filepath.Join(t.TempDir(), "import.csv")
	csv := "id,question,answer,category,status\n" +
		"e2e-import,导入测试的新问题,导入测试的答案,浏览器测试,published\n" +
		",,缺少标准问题的一行,浏览器测试,\n"
	if err := os.WriteFile(csvPath, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	b.do(t, "dry-run an import", chromedp.Click(chromedp.ID("nav-transfer")), chromedp.WaitVisible(chromedp.ID("import-file")),
		chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{csvPath}),
		chromedp.Click(chromedp.ID("btn-dry-run")), chromedp.WaitVisible(chromedp.ID("import-plan")))
	for kind, want := range map[string]string{"added": "1", "changed": "0", "rejected": "1"} {
		if got := b.eval(t, fmt.Sprintf(`document.querySelector('.plan-count[data-kind=%s] strong').textContent`, kind)); got != want {
			t.Errorf("dry run: %s = %s, want %s", kind, got, want)
		}
	}
	if row := b.eval(t, `document.querySelector('#plan-rejected tbody td').textContent`); row != "3" {
		t.Errorf("dry run rejects row %q, want row 3 (the header is line 1)", row)
	}
	if note := b.eval(t, `document.getElementById('plan-statuses').textContent`); !strings.Contains(note, "发布 1 篇（e2e-import）") {
		t.Errorf("dry run's note on publishing = %q, want e2e-import published", note)
	}
	shots.take(t, b, "import")
	// Someone creates the file's new article between the dry run and the
	// apply: the apply is refused and the page shows the new report, in
	// which the row changes that article; applying that one works.
	k.apiCall(t, http.MethodPost, token, "/api/v1/kb/articles", map[string]any{"id": "e2e-import",
		"question": "别人先建的导入测试问题", "answer": "别人先写的答案", "category": "浏览器测试"})
	b.do(t, "apply after a change", chromedp.Click(chromedp.ID("import-allow-rejected")), chromedp.Click(chromedp.ID("btn-apply")))
	b.waitText(t, "#import-plan .alert-error", "试运行之后")
	if moved := b.eval(t, `[...document.querySelectorAll('#import-plan [data-moved]')].map((e) => e.closest('table').id).join()`); moved != "plan-changed" {
		t.Errorf("rows marked as not as the last report said: in %q, want the one row, now in plan-changed", moved)
	}
	b.waitText(t, "#plan-moved", "这些行有变：2")
	if got := b.eval(t, `document.querySelector('.plan-count[data-kind=changed] strong').textContent`); got != "1" {
		t.Errorf("the report after a change: changed = %s, want 1 (the article created meanwhile)", got)
	}
	b.do(t, "apply the valid rows", chromedp.Click(chromedp.ID("import-allow-rejected")), chromedp.Click(chromedp.ID("btn-apply")))
	b.waitText(t, "#import-result", "已导入")
	if q := k.apiCall(t, http.MethodGet, token, "/api/v1/kb/articles/e2e-import", nil)["head"].(map[string]any)["question"]; q != "导入测试的新问题" {
		t.Errorf("after the import e2e-import asks %q, want the file's question", q)
	}

	// The list, filtered to this test's articles: published, pending,
	// drafts.
	// The list must have rendered (its count shown) before the search is
	// typed: on a loaded machine the previous screen's route may still be
	// settling, and a form filled in a view about to be replaced is lost.
	b.do(t, "open the list", chromedp.Click(chromedp.ID("nav-articles")), chromedp.WaitVisible(chromedp.ID("kb-count")))
	b.do(t, "filter the list", chromedp.SetValue(chromedp.ID("kb-search"), "e2e"),
		chromedp.Click(chromedp.CSS("#kb-filter button[type=submit]")))
	b.waitJS(t, "the filter in the address", `location.hash.includes('q=e2e')`)
	b.waitText(t, "#kb-count", "筛选后")
	b.waitText(t, "#kb-list", "会员卡编号")
	if n := b.eval(t, "document.querySelectorAll('#kb-list tbody tr').length"); n != "3" {
		t.Errorf("searching e2e lists %s articles, want 3 (tagged e2e, e2e-markup, e2e-import)", n)
	}
	b.do(t, "filter by category", chromedp.Evaluate[chromedp.Void](`(() => {
	  document.getElementById('kb-search').value = '';
	  const s = document.getElementById('kb-category');
	  s.value = '浏览器测试';
	  s.dispatchEvent(new Event('change'));
	})()`))
	b.waitJS(t, "the category's articles", `document.querySelectorAll('#kb-list tbody tr').length === 2 && location.hash.includes('category=')`)
	// Publish what is ticked in the list, as the list showed it: a draft
	// saved meanwhile is refused and the list reloads; ticked again, it
	// goes live.
	saveDraft := func(id, answer string) float64 {
		article := k.apiCall(t, http.MethodGet, token, "/api/v1/kb/articles/"+id, nil)
		draft := article["draft"].(map[string]any)["article"].(map[string]any)
		draft["answer"], draft["base_version"] = answer, article["head"].(map[string]any)["version"]
		return k.apiCall(t, http.MethodPut, token, "/api/v1/kb/articles/"+id, draft)["version"].(map[string]any)["version"].(float64)
	}
	shown := saveDraft("e2e-import", "列表发布前的草稿")
	b.do(t, "sort by version", chromedp.Click(chromedp.CSS("#kb-list a.sort[data-sort=version]")))
	b.waitJS(t, "the list by version, newest first, with the draft", fmt.Sprintf(`location.hash.includes('sort=-version') &&
	  document.querySelector('#kb-list th[aria-sort=descending] a[data-sort=version]') !== null &&
	  document.querySelector('#kb-list tr[data-id=e2e-import] [data-field=version]')?.textContent === '%d'`, int(shown)))
	latest := saveDraft("e2e-import", "列表发布的新答案")
	b.do(t, "publish the page, stale", chromedp.Click(chromedp.ID("kb-pick-all")), chromedp.Click(chromedp.ID("kb-publish-picked")))
	b.waitText(t, "#notice", "在你查看后又被保存")
	// The article saved since leaves the selection, and the list says so.
	b.waitJS(t, "the list reloaded", fmt.Sprintf(`document.querySelector('#kb-list tr[data-id=e2e-import] [data-field=version]')?.textContent === '%d' &&
	  !document.querySelector('#kb-list tr[data-id=e2e-import] .kb-pick').checked && !document.getElementById('kb-pick-all').checked &&
	  document.getElementById('kb-unticked')?.textContent.includes('e2e-import')`, int(latest)))
	b.do(t, "publish the page", chromedp.Click(chromedp.ID("kb-pick-all")), chromedp.Click(chromedp.ID("kb-publish-picked")))
	b.waitText(t, "#notice", "已发布")
	if h := k.apiCall(t, http.MethodGet, token, "/api/v1/kb/articles/e2e-import", nil)["head"].(map[string]any); h["published_version"] != latest || h["pending"] != false {
		t.Errorf("after the list's publish e2e-import is published at %v (pending %v), want %v", h["published_version"], h["pending"], latest)
	}
	shots.take(t, b, "list")

	// Pages: past 50 articles the list has a second one; an address past
	// the last page shows the last one in its place, so Back still leaves.
	for i := range 10 {
		k.apiCall(t, http.MethodPost, token, "/api/v1/kb/articles", map[string]any{"id": fmt.Sprintf("e2e-page-%02d", i),
			"question": fmt.Sprintf("分页测试的第 %d 个问题", i), "answer": "分页测试的答案", "category": "分页测试"})
	}
	b.do(t, "the whole list", chromedp.Click(chromedp.ID("nav-articles")))
	b.waitText(t, "#kb-page", "第 1 / 2 页")
	// Ticks last across pages and page sizes: what is ticked on one page
	// is published from another.
	b.do(t, "tick three articles", chromedp.Click(chromedp.CSS("#kb-list tr[data-id=e2e-page-00] .kb-pick")),
		chromedp.Click(chromedp.CSS("#kb-list tr[data-id=e2e-page-01] .kb-pick")),
		chromedp.Click(chromedp.CSS("#kb-list tr[data-id=e2e-page-02] .kb-pick")))
	b.do(t, "the next page", chromedp.Click(chromedp.ID("kb-next")))
	b.waitJS(t, "page 2", `location.hash.includes('page=2') && document.getElementById('kb-page')?.textContent.includes('第 2 / 2 页') &&
	  document.querySelectorAll('#kb-list tbody tr').length > 0 && document.querySelector('#kb-next[aria-disabled=true]') !== null &&
	  document.getElementById('kb-picked').textContent.includes('已选 3 篇（3 篇在其他页') && !document.getElementById('kb-publish-picked').disabled`)
	// Two of them, not on this page, are saved since they were ticked: the
	// publish is refused, both leave the selection at once, and the bar
	// names them.
	saveDraft("e2e-page-01", "勾选后又保存的答案")
	saveDraft("e2e-page-02", "勾选后又保存的答案")
	b.do(t, "publish the selection, stale", chromedp.Click(chromedp.ID("kb-publish-picked")))
	b.waitText(t, "#notice", "在你查看后又被保存")
	b.waitJS(t, "the two stale ones unticked", `['e2e-page-01', 'e2e-page-02'].every((id) => document.getElementById('kb-unticked')?.textContent.includes(id)) &&
	  document.getElementById('kb-picked').textContent.includes('已选 1 篇（1 篇在其他页')`)
	b.do(t, "a page past the end", chromedp.Evaluate[chromedp.Void](`location.hash = '#/?page=9'`))
	b.waitJS(t, "the last page in its place", `location.hash === '#/?page=2' && document.getElementById('kb-page')?.textContent.includes('第 2 / 2 页')`)
	b.do(t, "back twice", chromedp.Evaluate[chromedp.Void](`history.back()`))
	b.waitJS(t, "back on page 2", `location.hash === '#/?page=2'`)
	b.do(t, "back again", chromedp.Evaluate[chromedp.Void](`history.back()`))
	b.waitJS(t, "back on page 1", `location.hash === '#/' && document.getElementById('kb-page')?.textContent.includes('第 1 / 2 页')`)
	b.do(t, "100 a page", chromedp.Evaluate[chromedp.Void](`(() => {
	  const s = document.getElementById('kb-size'); s.value = '100'; s.dispatchEvent(new Event('change'));
	})()`))
	b.waitJS(t, "one page of them all", `location.hash === '#/?size=100' && !document.getElementById('kb-page') &&
	  document.querySelectorAll('#kb-list tbody tr').length > 50`)
	// One saved since it was ticked is unticked when the list shows it
	// again; the one left is published.
	b.do(t, "tick another", chromedp.Click(chromedp.CSS("#kb-list tr[data-id=e2e-page-03] .kb-pick")))
	saveDraft("e2e-page-03", "勾选后又保存的答案")
	b.do(t, "the list again", chromedp.Evaluate[chromedp.Void](`location.hash = '#/?size=200'`))
	b.waitJS(t, "one still ticked", `location.hash === '#/?size=200' && document.querySelector('#kb-list tr[data-id=e2e-page-00] .kb-pick')?.checked &&
	  !document.querySelector('#kb-list tr[data-id=e2e-page-03] .kb-pick').checked && document.getElementById('kb-unticked')?.textContent.includes('e2e-page-03') &&
	  document.getElementById('kb-picked').textContent.includes('已选 1 篇')`)
	// A publish that fails (offline here) keeps the selection, unlocked.
	b.do(t, "go offline", chromedp.Evaluate[chromedp.Void](`(() => {
	  const fetch = window.fastFetch = window.fetch;
	  window.fetch = (url, init) => init?.method === 'POST' ? Promise.reject(new TypeError('offline')) : fetch(url, init);
	})()`))
	b.do(t, "publish offline", chromedp.Click(chromedp.ID("kb-publish-picked")))
	b.waitText(t, "#notice", "网络错误")
	b.waitJS(t, "the selection kept, unlocked", `document.querySelector('#kb-list tr[data-id=e2e-page-00] .kb-pick')?.checked &&
	  !document.getElementById('kb-publish-picked').disabled && !document.querySelector('.kb-pick').disabled`)
	b.do(t, "back online", chromedp.Evaluate[chromedp.Void](`window.fetch = window.fastFetch`))
	// While the publish runs (slowed here), the selection is locked.
	b.do(t, "slow writes down", chromedp.Evaluate[chromedp.Void](`(() => {
	  const fetch = window.fastFetch = window.fetch;
	  window.fetch = (url, init) => new Promise((r) => setTimeout(r, init?.method === 'POST' ? 1000 : 0)).then(() => fetch(url, init));
	})()`))
	b.do(t, "publish the one ticked", chromedp.Click(chromedp.ID("kb-publish-picked")))
	if locked := b.eval(t, `['kb-pick-all', 'kb-pick-none', 'kb-publish-picked', 'kb-archive-picked'].every((id) => document.getElementById(id).disabled) &&
	  [...document.querySelectorAll('.kb-pick')].every((box) => box.disabled)`); locked != "true" {
		t.Errorf("while a publish runs, the selection's boxes and buttons are not all locked")
	}
	b.waitText(t, "#notice", "已发布 1 篇")
	// The page keeps room below it for the notice, so that its end (the
	// pager) can be scrolled out from under it.
	b.waitJS(t, "room under the notice", `parseFloat(getComputedStyle(document.body).paddingBottom) > document.getElementById('notice').offsetHeight`)
	b.do(t, "writes at full speed", chromedp.Evaluate[chromedp.Void](`window.fetch = window.fastFetch`))
	b.waitJS(t, "the selection cleared", `document.getElementById('kb-picked')?.textContent.includes('已选 0 篇') &&
	  document.querySelector('#kb-list tr[data-id=e2e-page-00] .badge-published') !== null`)
	for id, want := range map[string]any{"e2e-page-00": 1.0, "e2e-page-01": 0.0, "e2e-page-02": 0.0, "e2e-page-03": 0.0} {
		if got := k.apiCall(t, http.MethodGet, token, "/api/v1/kb/articles/"+id, nil)["head"].(map[string]any)["published_version"]; got != want {
			t.Errorf("after publishing the selection %s is published at %v, want %v", id, got, want)
		}
	}
	b.checkProblems(t)

	// Someone who is no editor signs in and is told so.
	k.addAccount(t, "wang", "agent password", "agent")
	// (/panel would take an agent to the agent panel: ask for the editor.)
	b.do(t, "sign out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-username")),
		chromedp.Navigate(k.base+"/panel/kb"), chromedp.WaitVisible(chromedp.ID("login-username")))
	b.login(t, "wang", "agent password", "denied")
	b.waitText(t, "#denied", "没有权限")
	b.checkProblems(t)
}

// needChromium returns the browser to drive: KEFU_E2E_CHROMIUM,
// /usr/bin/chromium, or chromium on PATH.
func needChromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("KEFU_E2E_CHROMIUM"), "/usr/bin/chromium"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	missing(t, "chromium not found (apt-get install chromium, or set KEFU_E2E_CHROMIUM)")
	return ""
}

// editorKefu is a kefu serve for the editor's test, with what it takes to
// sign in and to talk to its webhook.
type editorKefu struct {
	base, adminPassword string
	node, cfgPath       string
	asked               int
}

// startEditorKefu starts kefu in safe mode on the embedded store, with a
// fake WeChat API, and writes driver.js's configuration.
func startEditorKefu(t *testing.T, bin, node string) *editorKefu {
	t.Helper()
	k, _ := startAgentKefu(t, bin, node)
	return k
}

// say sends each text to the webhook through driver.js, signed and
// encrypted as WeChat would, each from a user of its own, until the reply
// to the last contains want (any reply when want is empty) or publishDelay
// passes. Each attempt has new users, so failed attempts never add up to a
// handoff.
func (k *editorKefu) say(t *testing.T, want string, texts ...string) {
	t.Helper()
	transcript := filepath.Join(t.TempDir(), "say.txt")
	var script strings.Builder
	for i, text := range texts {
		fmt.Fprintf(&script, "user: o_e2e_editor%d\n> %s\n", i, text)
	}
	if want != "" {
		fmt.Fprintf(&script, "< 包含: %s\n", want)
	}
	if err := os.WriteFile(transcript, []byte(script.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(publishDelay)
	for {
		k.asked++
		ctx, cancel := context.WithTimeout(t.Context(), driverTimeout)
		cmd := exec.CommandContext(ctx, k.node, "driver.js", "--config", k.cfgPath, transcript)
		cmd.Env = append(childEnv(), fmt.Sprintf("KEFU_E2E_OPENID_SUFFIX=_%d_%s", k.asked, randHex(3)))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		cancel()
		if err == nil {
			t.Logf("webhook: %s", strings.TrimSpace(string(out)))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook: %q: %v\n%s", texts, err, strings.TrimSpace(stderr.String()))
		}
		time.Sleep(200 * time.Millisecond) // the publish is on its way to the bot
	}
}

// signIn returns a bearer token of the account.
func (k *editorKefu) signIn(t *testing.T, username, password string) string {
	t.Helper()
	token, _ := k.apiCall(t, http.MethodPost, "", "/api/v1/login", map[string]any{"username": username, "password": password})["token"].(string)
	return token
}

// addAccount creates an account through the API, signed in as admin.
func (k *editorKefu) addAccount(t *testing.T, username, password, role string) {
	t.Helper()
	k.apiCall(t, http.MethodPost, k.signIn(t, "admin", k.adminPassword), "/api/v1/agents", map[string]any{
		"username": username, "password": password, "role": role, "name": username, "lanes": []string{"normal"}})
}

// apiCall sends body as JSON to path and returns the JSON answer, failing
// the test on any status but 200 and 201.
func (k *editorKefu) apiCall(t *testing.T, method, token, path string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(t.Context(), method, k.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
	}
	return out
}

// browser is one headless Chromium tab.
type browser struct {
	ctx context.Context
}

// newBrowser starts Chromium with a 1280×800 viewport and a script that
// records the pages' problems (problemsScript).
func newBrowser(t *testing.T, path string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.WindowSize(windowWidth, windowHeight),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, browserTimeout)
	t.Cleanup(cancelTimeout)
	b := &browser{ctx: ctx}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: problemsScript}); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	b.do(t, "set the viewport", chromedp.EmulateViewport(windowWidth, windowHeight))
	return b
}

// do runs actions as one step, failing the test with what the page shows
// when they do not complete within stepTimeout.
func (b *browser) do(t *testing.T, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail(t, step, err)
	}
}

// fail ends the test at step, logging the page's URL, text and problems.
func (b *browser) fail(t *testing.T, step string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	shown, _ := chromedp.Run(ctx, chromedp.Evaluate[string](
		`location.href + '\n' + JSON.stringify(window.__kefuProblems) + '\n' + document.body.innerText`))
	t.Fatalf("%s: %v\npage: %s", step, err, shown)
}

// eval returns the value of a JavaScript expression, as a string.
func (b *browser) eval(t *testing.T, expr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string]("String("+expr+")"))
	if err != nil {
		b.fail(t, "evaluate "+expr, err)
	}
	return v
}

// waitJS waits until the JavaScript expression cond is true.
func (b *browser) waitJS(t *testing.T, what, cond string) {
	t.Helper()
	b.do(t, "wait for "+what, chromedp.Poll[chromedp.Void](cond,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout)))
}

// waitText waits until the element sel holds text.
func (b *browser) waitText(t *testing.T, sel, text string) {
	t.Helper()
	b.waitJS(t, fmt.Sprintf("%s to show %q", sel, text), fmt.Sprintf(
		`(() => { const n = document.querySelector(%s); return !!n && n.textContent.includes(%s); })()`, jsString(sel), jsString(text)))
}

// fill sets form controls, by id, as typing would: each gets the value and
// an input event.
func (b *browser) fill(t *testing.T, values map[string]string) {
	t.Helper()
	for id, v := range values {
		b.do(t, "fill #"+id, chromedp.WaitVisible(chromedp.ID(id)), chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`(() => { const n = document.getElementById(%s); n.value = %s; n.dispatchEvent(new Event('input', {bubbles: true})); })()`,
			jsString(id), jsString(v))))
	}
}

// login signs in on the sign-in page and waits for the element id of the
// page it leads to.
func (b *browser) login(t *testing.T, username, password, id string) {
	t.Helper()
	b.do(t, "sign in as "+username,
		chromedp.WaitVisible(chromedp.ID("login-username")),
		chromedp.SendKeys(chromedp.ID("login-username"), username),
		chromedp.SendKeys(chromedp.ID("login-password"), password),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID(id)))
}

// clickIn clicks the element button inside the first element sel whose
// text holds text.
func (b *browser) clickIn(t *testing.T, sel, text, button string) {
	t.Helper()
	b.do(t, fmt.Sprintf("click %s in %s %q", button, sel, text), chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
	  const box = [...document.querySelectorAll(%s)].find((n) => n.textContent.includes(%s));
	  box.querySelector(%s).click();
	})()`, jsString(sel), jsString(text), jsString(button))))
}

// publish clicks the editor's publish button and waits until the article
// is published with no pending draft.
func (b *browser) publish(t *testing.T, button string) {
	t.Helper()
	b.do(t, "publish", chromedp.Click(chromedp.ID(button)))
	b.waitJS(t, "the article published", `(() => {
	  const s = document.getElementById('editor-state');
	  return !!s && !!s.querySelector('[data-status=published]') && !s.querySelector('[data-pending]');
	})()`)
}

// noImages checks the page has no img element: markup in editor text must
// stay text.
func (b *browser) noImages(t *testing.T, where string) {
	t.Helper()
	if n := b.eval(t, "document.querySelectorAll('img').length"); n != "0" {
		t.Errorf("%s: %s img elements: text was inserted as HTML", where, n)
	}
}

// checkProblems fails the test if the page recorded errors, CSP
// violations or alerts.
func (b *browser) checkProblems(t *testing.T) {
	t.Helper()
	if p := b.eval(t, "JSON.stringify(window.__kefuProblems || [])"); p != "[]" {
		t.Errorf("the page recorded problems: %s", p)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// shooter saves screenshots to docs/screenshots when KEFU_SCREENSHOTS=1.
type shooter struct{ dir string }

func screenshots(t *testing.T) shooter {
	if os.Getenv("KEFU_SCREENSHOTS") != "1" {
		return shooter{}
	}
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return shooter{dir: dir}
}

// take saves the browser's window as name.png, when screenshots are on.
func (s shooter) take(t *testing.T, b *browser, name string) {
	t.Helper()
	if s.dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	// Notices come and go; the screens are what the pictures are for.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById('notice')?.classList.add('hidden')`)); err != nil {
		b.fail(t, "hide the notice", err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.fail(t, "screenshot "+name, err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
