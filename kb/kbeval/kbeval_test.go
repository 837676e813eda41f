package kbeval

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kefuhq/kefu/intents"
	"github.com/kefuhq/kefu/kb"
)

// writeSet writes a tiny data set: two intents (one urgent) and
// out-of-scope questions in dev.
func writeSet(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tiny")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"train.jsonl": `{"text": "how do I export my bill", "intent": "bill/export"}
{"text": "export the bill of last month", "intent": "bill/export"}
{"text": "download my monthly bill", "intent": "bill/export"}
{"text": "my card was stolen", "intent": "stolen_card"}
{"text": "someone stole my card", "intent": "stolen_card"}
{"text": "stolen card, please block it", "intent": "stolen_card"}
{"text": "anything at all", "intent": "oos"}
`,
		"dev.jsonl": `{"text": "how can I export the bill", "intent": "bill/export"}
{"text": "my card got stolen yesterday", "intent": "stolen_card"}
{"text": "what is the weather tomorrow", "intent": "oos"}
{"text": "sing me a song", "intent": "oos"}
`,
		"test.jsonl":          `{"text": "export bill please", "intent": "bill/export"}` + "\n",
		"urgent_intents.json": `["stolen_card"]`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadAndArticles(t *testing.T) {
	ds, err := Load(writeSet(t))
	if err != nil {
		t.Fatal(err)
	}
	if ds.Name != "tiny" || len(ds.Train) != 7 {
		t.Fatalf("Name %q, %d training questions; want tiny, 7", ds.Name, len(ds.Train))
	}
	arts := ds.Articles()
	if len(arts) != 3 {
		t.Fatalf("%d articles, want 3", len(arts))
	}
	if arts[2].ID != OOS || arts[2].Kind != kb.KindOutOfScope {
		t.Errorf("article 2 = %+v, want the out-of-scope examples", arts[2])
	}
	if arts[0].ID != "bill.export" || arts[0].Question != "how do I export my bill" || len(arts[0].Similar) != 2 || arts[0].Handoff != "" {
		t.Errorf("article 0 = %+v", arts[0])
	}
	if arts[1].ID != "stolen_card" || arts[1].Handoff != UrgentLane {
		t.Errorf("article 1 = %+v, want the urgent lane", arts[1])
	}
	if _, err := ds.Split("train2"); err == nil {
		t.Error("Split(train2) did not fail")
	}
}

func TestReport(t *testing.T) {
	ds, err := Load(writeSet(t))
	if err != nil {
		t.Fatal(err)
	}
	run, err := ds.Run("dev")
	if err != nil {
		t.Fatal(err)
	}
	rep := run.Report(intents.NewMatchPolicy(0.2, 0, 0))
	if rep.InScope != 2 || rep.OutOfScope != 2 || rep.Urgent != 1 {
		t.Fatalf("counts %d/%d/%d, want 2 in scope, 2 out, 1 urgent", rep.InScope, rep.OutOfScope, rep.Urgent)
	}
	if rep.InScopeAccNoThreshold != 1 || rep.InScopeAcc != 1 || rep.UrgentRecall != 1 {
		t.Errorf("report %v: want every in-scope question answered right and the urgent one handed off", rep)
	}
	if rep.OOSRecall != 1 || rep.OOSPrecision != 1 {
		t.Errorf("report %v: want both off-topic questions rejected, and only them", rep)
	}
	// A threshold no match reaches rejects everything: urgent questions
	// still reach a person through the (lower) urgent threshold only if
	// they clear it, so with both at 0.99 nothing is routed.
	none := run.Report(intents.NewMatchPolicy(0.99, 0.99, 0))
	if none.InScopeAcc != 0 || none.OOSRecall != 1 || none.UrgentRecall != 0 || none.InScopeAccNoThreshold != 1 {
		t.Errorf("report at 0.99: %v", none)
	}
	line := rep.String()
	for _, key := range []string{"dataset=tiny ", "split=dev ", "in_scope_acc=1.0000 ", "in_scope_acc_nothreshold=", "oos_recall=",
		"oos_precision=", "urgent_recall=", "threshold=0.2000 ", "p50_us=", "p99_us="} {
		if !strings.Contains(line, key) {
			t.Errorf("summary line %q lacks %q", line, key)
		}
	}
	if p := run.Tune(); p.Threshold <= 0 || p.Threshold >= 1 || math.Abs(p.UrgentThreshold-intents.UrgentShare*p.Threshold) > 1e-9 {
		t.Errorf("Tune = %+v", p)
	}
}

// dataDir finds ../shared/data beside the repository (CI copies it there).
func dataDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			data := filepath.Join(filepath.Dir(dir), "shared", "data")
			if _, err := os.Stat(data); err != nil {
				t.Skipf("no labelled data at %s", data)
			}
			return data
		}
	}
	t.Fatal("no go.mod above the test")
	return ""
}

// TestDevFigures guards the matcher's quality on the dev splits of the
// labelled sets (never test): the threshold tuned on dev must keep the
// figures at least where they were when the matcher was last changed
// (less a little for noise). It is slow under the race detector, so make
// test runs it in a separate pass without it.
func TestDevFigures(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("slow under -race or -short; make test runs it without the race detector")
	}
	floors := map[string]Report{
		"banking77_oos": {InScopeAccNoThreshold: 0.92, InScopeAcc: 0.83, OOSRecall: 0.80, UrgentRecall: 0.97},
		"clinc150_oos":  {InScopeAccNoThreshold: 0.92, InScopeAcc: 0.90, OOSRecall: 0.89, UrgentRecall: 0.97},
		"xsid_zh":       {InScopeAccNoThreshold: 0.93, InScopeAcc: 0.93, OOSRecall: 0.88},
	}
	data := dataDir(t)
	for name, floor := range floors {
		t.Run(name, func(t *testing.T) {
			ds, err := Load(filepath.Join(data, name))
			if err != nil {
				t.Fatal(err)
			}
			run, err := ds.Run("dev")
			if err != nil {
				t.Fatal(err)
			}
			rep := run.Report(run.Tune())
			t.Log(rep)
			check := func(what string, got, want float64) {
				if got < want {
					t.Errorf("%s = %.4f, want at least %.3f", what, got, want)
				}
			}
			check("in_scope_acc_nothreshold", rep.InScopeAccNoThreshold, floor.InScopeAccNoThreshold)
			check("in_scope_acc", rep.InScopeAcc, floor.InScopeAcc)
			check("oos_recall", rep.OOSRecall, floor.OOSRecall)
			check("urgent_recall", rep.UrgentRecall, floor.UrgentRecall)
		})
	}
}
