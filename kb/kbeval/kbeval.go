// Package kbeval measures the knowledge-base matcher on a labelled data set:
// it builds a knowledge base from the training questions (one article per
// intent), or takes a given one, runs every question of a split through the
// same decision the bot makes, and reports in-scope accuracy, out-of-scope
// recall and precision, urgent recall and the latency of one match.
package kbeval

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kefuhq/kefu/intents"
	"github.com/kefuhq/kefu/kb"
)

// OOS is the intent of out-of-scope questions: the knowledge base must not
// answer them.
const OOS = "oos"

// UrgentLane is the handoff lane given to the articles of urgent intents.
const UrgentLane = "emergency"

// Example is one labelled question.
type Example struct {
	Text   string `json:"text"`
	Intent string `json:"intent"`
}

// Dataset is a labelled data set in the layout of ../shared/data: a folder
// with train.jsonl, dev.jsonl and test.jsonl, and optionally
// urgent_intents.json. A data set made by ForKB has no training questions:
// its knowledge base is given, and its intents are article IDs.
type Dataset struct {
	// Name is the folder's base name.
	Name string
	// Train holds the training questions; they become the knowledge base.
	Train []Example
	// Urgent lists the intents that must go straight to a person.
	Urgent map[string]bool

	dir   string
	given []kb.Article // the knowledge base, when given (ForKB)
}

// Load reads the training split and the urgent intents of the data set in
// dir. The dev and test splits are read by Split, on demand.
func Load(dir string) (*Dataset, error) {
	ds := &Dataset{Name: filepath.Base(filepath.Clean(dir)), Urgent: map[string]bool{}, dir: dir}
	var err error
	if ds.Train, err = readJSONL(filepath.Join(dir, "train.jsonl"), nil); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, "urgent_intents.json"))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("kbeval: %w", err)
	default:
		var urgent []string
		if err := json.Unmarshal(data, &urgent); err != nil {
			return nil, fmt.Errorf("kbeval: %s/urgent_intents.json: %w", dir, err)
		}
		for _, in := range urgent {
			ds.Urgent[in] = true
		}
	}
	return ds, nil
}

// ForKB makes a data set of the labelled questions in dir (dev.jsonl and
// test.jsonl, no train.jsonl) for a given knowledge base, such as the
// default one or an editor's export: each question's intent is the ID of
// the article that answers it, or OOS. Articles with a handoff lane are the
// urgent intents. Only published articles are searched.
func ForKB(dir string, articles []kb.Article) *Dataset {
	ds := &Dataset{Name: filepath.Base(filepath.Clean(dir)), Urgent: map[string]bool{}, dir: dir, given: articles}
	for _, a := range articles {
		if a.Handoff != "" && a.Status == kb.StatusPublished {
			ds.Urgent[a.ID] = true
		}
	}
	return ds
}

// Split reads the named split: "dev" or "test" (or "train"). For a data
// set with a given knowledge base, every intent must be OOS or the ID of
// one of its published articles.
func (ds *Dataset) Split(name string) ([]Example, error) {
	switch name {
	case "dev", "test", "train":
	default:
		return nil, fmt.Errorf("kbeval: unknown split %q (want dev or test)", name)
	}
	return readJSONL(filepath.Join(ds.dir, name+".jsonl"), ds.checkIntent())
}

// checkIntent returns the check of a question's intent, or nil when any
// intent goes (the knowledge base is built from the training questions).
func (ds *Dataset) checkIntent() func(intent string) error {
	if ds.given == nil {
		return nil
	}
	published := map[string]bool{}
	for _, a := range ds.given {
		if a.Status == kb.StatusPublished {
			published[a.ID] = true
		}
	}
	return func(intent string) error {
		if intent != OOS && !published[intent] {
			return fmt.Errorf("intent %q is neither %q nor a published article of the knowledge base", intent, OOS)
		}
		return nil
	}
}

// readJSONL reads labelled questions; check, when not nil, vets each
// intent.
func readJSONL(path string, check func(intent string) error) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("kbeval: %w", err)
	}
	defer f.Close()
	var out []Example
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var ex Example
		if err := json.Unmarshal(sc.Bytes(), &ex); err != nil {
			return nil, fmt.Errorf("kbeval: %s:%d: %w", path, line, err)
		}
		if ex.Intent == "" || strings.TrimSpace(ex.Text) == "" {
			return nil, fmt.Errorf("kbeval: %s:%d: want a text and an intent", path, line)
		}
		if check != nil {
			if err := check(ex.Intent); err != nil {
				return nil, fmt.Errorf("kbeval: %s:%d: %w", path, line, err)
			}
		}
		out = append(out, ex)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("kbeval: %s: %w", path, err)
	}
	return out, nil
}

// articleID returns the ID of the article of intent.
func (ds *Dataset) articleID(intent string) string {
	if ds.given != nil {
		return intent
	}
	return ArticleID(intent)
}

// ArticleID turns an intent name into the ID of its article in a knowledge
// base built from training questions.
func ArticleID(intent string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '.'
	}, intent)
}

// Articles returns the knowledge base of the data set: the given one, or
// one published FAQ article per intent, in order of first appearance, with the intent's
// first training question as its standard question and the others as
// similar questions. Articles of urgent intents hand off in UrgentLane.
// Out-of-scope training questions (CLINC150 has some) become an article of
// kind kb.KindOutOfScope: examples the matcher learns to refuse, as an
// editor's dismissed questions would be.
func (ds *Dataset) Articles() []kb.Article {
	if ds.given != nil {
		return ds.given
	}
	var out []kb.Article
	pos := map[string]int{}
	for _, ex := range ds.Train {
		i, ok := pos[ex.Intent]
		if !ok {
			i = len(out)
			pos[ex.Intent] = i
			a := kb.Article{ID: ArticleID(ex.Intent), Question: ex.Text, Answer: ex.Intent,
				Category: ds.Name, Kind: kb.KindFAQ, Status: kb.StatusPublished}
			if ds.Urgent[ex.Intent] {
				a.Handoff = UrgentLane
			}
			if ex.Intent == OOS {
				a.Kind = kb.KindOutOfScope
			}
			out = append(out, a)
			continue
		}
		out[i].Similar = append(out[i].Similar, ex.Text)
	}
	return out
}

// Report is the outcome of one evaluation.
type Report struct {
	Dataset, Split string
	// InScope and OutOfScope count the questions of the split.
	InScope, OutOfScope, Urgent int
	// InScopeAcc is the share of in-scope questions answered (or handed
	// off as urgent) with the right article.
	InScopeAcc float64
	// InScopeAccNoThreshold is the share of in-scope questions the policy
	// would answer with the right article if it had no threshold.
	InScopeAccNoThreshold float64
	// OOSRecall is the share of out-of-scope questions rejected.
	OOSRecall float64
	// OOSPrecision is the share of rejected questions that were out of
	// scope.
	OOSPrecision float64
	// UrgentRecall is the share of questions of urgent intents routed to a
	// person.
	UrgentRecall float64
	// Threshold and UrgentThreshold are the policy's.
	Threshold, UrgentThreshold float64
	// P50 and P99 are percentiles of the time of one match (search and
	// decision).
	P50, P99 time.Duration
}

// String is the summary line of kefu eval.
func (r Report) String() string {
	return fmt.Sprintf("dataset=%s split=%s in_scope_acc=%.4f in_scope_acc_nothreshold=%.4f oos_recall=%.4f oos_precision=%.4f urgent_recall=%.4f threshold=%.4f p50_us=%.1f p99_us=%.1f",
		r.Dataset, r.Split, r.InScopeAcc, r.InScopeAccNoThreshold, r.OOSRecall, r.OOSPrecision, r.UrgentRecall,
		r.Threshold, us(r.P50), us(r.P99))
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// Run holds the matches of every question of one split, so that policies
// can be compared without searching again.
type Run struct {
	ds       *Dataset
	split    string
	examples []Example
	matches  [][]kb.Match
	p50, p99 time.Duration // of one search and decision, whatever the policy
}

// Run reads the named split and searches every question of it (see
// Search).
func (ds *Dataset) Run(split string) (*Run, error) {
	examples, err := ds.Split(split)
	if err != nil {
		return nil, err
	}
	return ds.Search(split, examples), nil
}

// Search builds the index of the data set's knowledge base and searches
// every question of examples once, timing each search.
func (ds *Dataset) Search(split string, examples []Example) *Run {
	ix := kb.NewIndex(ds.Articles())
	r := &Run{ds: ds, split: split, examples: examples, matches: make([][]kb.Match, len(examples))}
	times := make([]time.Duration, len(examples))
	policy := intents.NewMatchPolicy(0, 0, 0)
	for i, ex := range examples {
		start := time.Now()
		r.matches[i] = ix.Search(ex.Text, intents.MatchCandidates)
		_ = policy.Decide(r.matches[i])
		times[i] = time.Since(start)
	}
	slices.SortFunc(times, cmp.Compare)
	r.p50, r.p99 = percentile(times, 0.50), percentile(times, 0.99)
	return r
}

// Report decides every question under policy and scores the decisions.
func (r *Run) Report(policy intents.MatchPolicy) Report {
	rep := Report{Dataset: r.ds.Name, Split: r.split, Threshold: policy.Threshold, UrgentThreshold: policy.UrgentThreshold}
	var correct, correctAny, rejected, rejectedOOS, urgentRouted int
	anyScore := policy
	anyScore.Threshold, anyScore.UrgentThreshold = 0, 0
	for i, ex := range r.examples {
		d := policy.Decide(r.matches[i])
		accepted := Answered(d)
		if !accepted {
			rejected++
		}
		if ex.Intent == OOS {
			rep.OutOfScope++
			if !accepted {
				rejectedOOS++
			}
			continue
		}
		rep.InScope++
		want := r.ds.articleID(ex.Intent)
		if d0 := anyScore.Decide(r.matches[i]); d0.Article != nil && d0.Article.ID == want {
			correctAny++
		}
		if accepted && d.Article.ID == want {
			correct++
		}
		if r.ds.Urgent[ex.Intent] {
			rep.Urgent++
			if d.Kind == intents.Urgent {
				urgentRouted++
			}
		}
	}
	rep.InScopeAcc = ratio(correct, rep.InScope)
	rep.InScopeAccNoThreshold = ratio(correctAny, rep.InScope)
	rep.OOSRecall = ratio(rejectedOOS, rep.OutOfScope)
	rep.OOSPrecision = ratio(rejectedOOS, rejected)
	rep.UrgentRecall = ratio(urgentRouted, rep.Urgent)
	rep.P50, rep.P99 = r.p50, r.p99
	return rep
}

// Miss is a question the policy got wrong: an in-scope question not
// answered with its article, or an out-of-scope question answered.
type Miss struct {
	Example
	// Got is the article the bot would answer with, or, when the turn
	// fails, the best candidate; empty when nothing matched.
	Got string
	// Answered reports whether the bot would answer with Got.
	Answered bool
	// Score is Got's score.
	Score float64
}

// Misses lists the questions that policy gets wrong, in the split's order.
func (r *Run) Misses(policy intents.MatchPolicy) []Miss {
	var out []Miss
	for i, ex := range r.examples {
		d := policy.Decide(r.matches[i])
		m := Miss{Example: ex, Answered: Answered(d), Score: d.Score}
		if d.Article != nil {
			m.Got = d.Article.ID
		}
		if ex.Intent == OOS && !m.Answered || ex.Intent != OOS && m.Answered && m.Got == r.ds.articleID(ex.Intent) {
			continue
		}
		out = append(out, m)
	}
	return out
}

// Answered reports whether the bot answers from the knowledge base: with
// an article, urgent or not. A question handed to a person without an
// article (an unconfident urgent match) counts as rejected by the
// knowledge base.
func Answered(d intents.Decision) bool {
	return d.Kind != intents.Fallback && d.Article != nil
}

func ratio(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// OOSWeight is the weight of out-of-scope recall against in-scope
// accuracy when Tune picks the threshold. A refused question that the
// knowledge base answers costs the user a failed turn and, after a few, an
// agent's ticket; a stray answer to an off-topic question is visibly off
// and the user asks again. In-scope accuracy therefore counts double.
const OOSWeight = 0.5

// Tune picks the policy on this run, which must be a dev split. The
// threshold maximises InScopeAcc + OOSWeight × OOSRecall, averaged over a
// window of ±0.02 around each candidate (the curve is noisy on small dev
// sets; the window keeps the choice away from a lone spike). Candidates
// run from 0.01 to 0.99 in steps of 0.005; ties go to the lower one. The
// urgent threshold is the policy's default share of it.
func (r *Run) Tune() intents.MatchPolicy {
	const step, window = 0.005, 4 // window: steps each side
	var ts, crit []float64
	for i := 2; i <= 198; i++ {
		t := float64(i) * step
		rep := r.Report(intents.NewMatchPolicy(t, 0, 0))
		ts = append(ts, t)
		if rep.OutOfScope == 0 {
			crit = append(crit, rep.InScopeAcc)
			continue
		}
		crit = append(crit, rep.InScopeAcc+OOSWeight*rep.OOSRecall)
	}
	best, bestScore := 0, -1.0
	for i := range ts {
		var sum float64
		n := 0
		for j := max(0, i-window); j <= min(len(ts)-1, i+window); j++ {
			sum += crit[j]
			n++
		}
		if avg := sum / float64(n); avg > bestScore {
			best, bestScore = i, avg
		}
	}
	return intents.NewMatchPolicy(ts[best], 0, 0)
}
