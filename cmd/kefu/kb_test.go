package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kefuhq/kefu/internal/redistest"
	"github.com/kefuhq/kefu/kb"
)

// kbEnv returns the environment of a fresh store: embedded under a new
// data directory, or on Redis under a new key prefix.
type kbEnv func(t *testing.T) []string

var kbStores = []struct {
	name string
	env  kbEnv
}{
	{"Embedded", func(t *testing.T) []string { return []string{"KEFU_DATA_DIR=" + t.TempDir()} }},
	{"Redis", func(t *testing.T) []string {
		_, prefix := redistest.Client(t)
		return []string{"KEFU_DATA_DIR=" + t.TempDir(), "KEFU_REDIS_URL=" + os.Getenv(redistest.EnvURL), "KEFU_REDIS_PREFIX=" + prefix}
	}},
}

// kefu runs the command in-process and returns its output.
func kefu(t *testing.T, env []string, stdin string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr, env)
	return stdout.String() + stderr.String(), err
}

func mustKefu(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out, err := kefu(t, env, "", args...)
	if err != nil {
		t.Fatalf("kefu %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TestKB edits the knowledge base offline the way an editor would: list
// the seeded default, export, import a changed CSV (dry run first), look at
// the history, roll back.
func TestKB(t *testing.T) {
	for _, st := range kbStores {
		t.Run(st.name, func(t *testing.T) { testKB(t, st.env(t)) })
	}
}

func testKB(t *testing.T, env []string) {
	dir := t.TempDir()
	def, err := kb.Default()
	if err != nil {
		t.Fatal(err)
	}
	id := def[0].ID

	out := mustKefu(t, env, "kb", "list")
	if !strings.Contains(out, id) || !strings.Contains(out, "published") || !strings.Contains(out, "system") {
		t.Fatalf("kb list on a fresh store does not show the seeded default:\n%s", out)
	}

	// JSON export is the default knowledge base, every field included.
	jsonPath := filepath.Join(dir, "kb.json")
	mustKefu(t, env, "kb", "export", "-o", jsonPath)
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	exported, err := kb.Parse(data)
	if err != nil || len(exported) != len(def) {
		t.Fatalf("export: %d articles, %v; want %d", len(exported), err, len(def))
	}

	// Edit the CSV export: a new answer, a new article, a bad row.
	csvOut := mustKefu(t, env, "kb", "export", "-format", "csv")
	if !strings.HasPrefix(csvOut, "\uFEFFid,question,similar,answer,answer_en,category,tags,kind,status,") {
		t.Fatalf("CSV export starts %q", csvOut[:min(80, len(csvOut))])
	}
	rows, err := kb.ReadCSV(strings.NewReader(csvOut))
	if err != nil {
		t.Fatal(err)
	}
	var articles []kb.Article
	for _, r := range rows {
		articles = append(articles, r.Article)
	}
	for i := range articles {
		if articles[i].ID == id {
			articles[i].Answer = "新的答案"
		}
	}
	articles = append(articles, kb.Article{ID: "brand-new", Question: "全新的问题", Answer: "全新的答案", Kind: kb.KindFAQ, Status: kb.StatusPublished},
		kb.Article{ID: "bad", Question: "坏行", Answer: "答案", Kind: "nope"})
	var buf bytes.Buffer
	if err := kb.WriteCSV(&buf, articles); err != nil {
		t.Fatal(err)
	}
	badLine := strings.Count(buf.String(), "\n") // the last record
	csvPath := filepath.Join(dir, "edit.csv")
	if err := os.WriteFile(csvPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	out, err = kefu(t, env, "", "kb", "import", "-dry-run", csvPath)
	if !errors.Is(err, kb.ErrRejected) {
		t.Fatalf("dry run with a bad row = %v, want ErrRejected", err)
	}
	for _, want := range []string{"新增 1 篇，修改 1 篇", "拒绝 1 行", "+ brand-new", "~ " + id, `unknown kind "nope"`, "第 " + strconv.Itoa(badLine) + " 行"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run report lacks %q:\n%s", want, out)
		}
	}
	if out := mustKefu(t, env, "kb", "history", id); strings.Contains(out, "\n2") {
		t.Fatalf("the dry run saved a version:\n%s", out)
	}

	token := regexp.MustCompile(`-expect ([0-9a-f]+)`).FindStringSubmatch(mustKefu(t, env, "kb", "import", "-dry-run", "-allow-rejected", csvPath))
	if token == nil {
		t.Fatal("the dry run prints no token")
	}
	if _, err := kefu(t, env, "", "kb", "import", "-allow-rejected", "-expect", "0"+token[1], csvPath); !errors.Is(err, kb.ErrStalePlan) {
		t.Fatalf("import with another token = %v, want ErrStalePlan", err)
	}
	out = mustKefu(t, env, "kb", "import", "-allow-rejected", "-publish", "-author", "alice", "-expect", token[1], csvPath)
	if !strings.Contains(out, "保存 2 篇新版本，发布 2 篇") {
		t.Errorf("import report:\n%s", out)
	}
	out = mustKefu(t, env, "kb", "history", id)
	if !strings.Contains(out, "alice") || !strings.Contains(out, "导入") || !strings.Contains(out, "answer") ||
		!strings.Contains(out, "发布与归档记录") || !strings.Contains(out, "alice  发布版本 2") {
		t.Errorf("history after import (with the import's publish logged):\n%s", out)
	}
	if a := exportedArticle(t, env, id); a.Answer != "新的答案" || a.Status != kb.StatusPublished {
		t.Errorf("after import %s = %+v", id, a)
	}

	out = mustKefu(t, env, "kb", "rollback", "-publish", "-author", "bob", id, "1")
	if !strings.Contains(out, "另存为版本 3") {
		t.Errorf("rollback:\n%s", out)
	}
	if a := exportedArticle(t, env, id); a.Answer != def[0].Answer {
		t.Errorf("after rollback the answer is %q, want the original", a.Answer)
	}
	if out := mustKefu(t, env, "kb", "history", id); !strings.Contains(out, "3 *") || !strings.Contains(out, "回滚到版本 1") {
		t.Errorf("history after rollback:\n%s", out)
	}
	if out := mustKefu(t, env, "kb", "rollback", "-publish", id, "1"); !strings.Contains(out, "未生成新版本") || strings.Contains(out, "已发布") {
		t.Errorf("a rollback to the content the latest version has:\n%s", out)
	}

	// A JSON import from stdin, then publishing by hand.
	in := `[{"id":"from-stdin","question":"标准输入","answer":"答案"}]`
	if out, err := kefu(t, env, in, "kb", "import", "-format", "json", "-"); err != nil || !strings.Contains(out, "保存 1 篇") {
		t.Fatalf("import from stdin: %v\n%s", err, out)
	}
	mustKefu(t, env, "kb", "publish", "from-stdin")
	if a := exportedArticle(t, env, "from-stdin"); a.Status != kb.StatusPublished {
		t.Errorf("after publish: %+v", a)
	}

	// An article must name a configured lane and an existing flow.
	refs := `[{"id":"lane-ok","question":"车票丢了","answer":"答案","handoff":"emergency","flow":"bill_export"},
	          {"id":"lane-bad","question":"会员问题","answer":"答案","handoff":"vip"},
	          {"id":"flow-bad","question":"办会员","answer":"答案","flow":"no_such_flow"}]`
	out, err = kefu(t, env, refs, "kb", "import", "-format", "json", "-dry-run", "-")
	if !errors.Is(err, kb.ErrRejected) {
		t.Fatalf("import naming an unknown lane and flow = %v, want ErrRejected", err)
	}
	for _, want := range []string{"新增 1 篇", "拒绝 2 行", `第 2 行 (row 2)：文章 lane-bad：转人工队列 "vip" 未配置，可用的队列：emergency,`, `流程 "no_such_flow" 不存在，现有的流程：`} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run report lacks %q:\n%s", want, out)
		}
	}
}

func exportedArticle(t *testing.T, env []string, id string) kb.Article {
	t.Helper()
	articles, err := kb.Parse([]byte(mustKefu(t, env, "kb", "export")))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range articles {
		if a.ID == id {
			return a
		}
	}
	t.Fatalf("export lacks %s", id)
	return kb.Article{}
}

func TestKBUsage(t *testing.T) {
	env := []string{"KEFU_DATA_DIR=" + t.TempDir()}
	for _, args := range [][]string{
		{"kb"}, {"kb", "nope"}, {"kb", "history"}, {"kb", "rollback", "a"}, {"kb", "rollback", "a", "x"},
		{"kb", "publish"}, {"kb", "export", "-format", "xml"}, {"kb", "import", "-", "extra"}, {"kb", "import", "-"},
	} {
		if _, err := kefu(t, env, "", args...); !errors.Is(err, errUsage) {
			t.Errorf("kefu %s = %v, want a usage error", strings.Join(args, " "), err)
		}
	}
	if out, err := kefu(t, env, "", "kb", "import", "-"); err == nil || strings.Contains(err.Error(), "nil") || !strings.Contains(out+err.Error(), "-format") {
		t.Errorf("import from stdin without -format: %v, want a plain usage error naming -format", err)
	}
	if out, err := kefu(t, env, "", "kb", "-h"); err != nil || !strings.Contains(out, "kefu kb") {
		t.Errorf("kefu kb -h = %v\n%s, want the usage on stdout", err, out)
	}
	if out, err := kefu(t, env, "", "kb", "import", "-h"); err != nil || !strings.Contains(out, "-dry-run") {
		t.Errorf("kefu kb import -h = %v\n%s, want the usage and the flags on stdout", err, out)
	}
	dir := t.TempDir()
	if _, err := kefu(t, []string{"KEFU_DATA_DIR=" + filepath.Join(dir, "data")}, "", "kb", "import", "-"); !errors.Is(err, errUsage) {
		t.Errorf("import from stdin without -format = %v, want a usage error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a usage error made the data directory: %v", err)
	}
	if _, err := kefu(t, env, "", "kb", "history", "nope"); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("history of a missing article = %v, want ErrNotFound", err)
	}
	if _, err := kefu(t, env, "", "kb", "import", filepath.Join(t.TempDir(), "missing.csv")); err == nil {
		t.Errorf("import of a missing file succeeded")
	}
}
