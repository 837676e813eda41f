package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"

	"github.com/kefuhq/kefu/intents"
	"github.com/kefuhq/kefu/kb"
	"github.com/kefuhq/kefu/kb/kbeval"
)

// eval measures the matcher on a labelled data set (see package kbeval).
func eval(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", "", "data set folder with train.jsonl, dev.jsonl, test.jsonl (required)")
	split := fs.String("split", "dev", "split to report: dev or test")
	threshold := fs.Float64("threshold", 0, "least score answered (0 = the matcher's default)")
	urgent := fs.Float64("urgent-threshold", 0, "least score of an urgent article that hands off (0 = -threshold)")
	tune := fs.Bool("tune", false, "pick the threshold on dev and report with it (dev only)")
	misses := fs.Bool("misses", false, "list the questions answered wrongly or refused, before the figures")
	kbFile := fs.String("kb", "", `measure this knowledge base (a JSON export, or "default") on DIR's questions labelled with its article IDs, instead of one built from DIR/train.jsonl`)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	switch {
	case *dir == "":
		return fmt.Errorf("%w: kefu eval -data DIR [-kb FILE|default] [-split dev|test] [-threshold X | -tune]", errUsage)
	case *tune && *split != "dev":
		return fmt.Errorf("%w: -tune picks the threshold on dev; run -split test with -threshold", errUsage)
	case *tune && *threshold != 0:
		return fmt.Errorf("%w: -tune and -threshold exclude each other", errUsage)
	}
	ds, err := loadEvalData(*dir, *kbFile)
	if err != nil {
		return err
	}
	run, err := ds.Run(*split)
	if err != nil {
		return err
	}
	policy := intents.NewMatchPolicy(*threshold, *urgent, 0)
	if *tune {
		policy = run.Tune()
	}
	rep := run.Report(policy)
	fmt.Fprintf(stdout, "articles=%d questions=%d in_scope=%d out_of_scope=%d urgent=%d urgent_threshold=%.4f\n",
		len(ds.Articles()), rep.InScope+rep.OutOfScope, rep.InScope, rep.OutOfScope, rep.Urgent, rep.UrgentThreshold)
	if *misses {
		for _, m := range run.Misses(policy) {
			verdict := "refused"
			if m.Answered {
				verdict = "answered"
			}
			fmt.Fprintf(stdout, "miss want=%s %s=%s score=%.3f %s\n", m.Intent, verdict, cmp.Or(m.Got, "-"), m.Score, m.Text)
		}
	}
	fmt.Fprintln(stdout, rep)
	return nil
}

// loadEvalData reads the data set in dir, for the knowledge base in kbFile
// when one is named.
func loadEvalData(dir, kbFile string) (*kbeval.Dataset, error) {
	if kbFile == "" {
		return kbeval.Load(dir)
	}
	var articles []kb.Article
	var err error
	if kbFile == "default" {
		articles, err = kb.Default()
	} else {
		articles, err = readKBFile(kbFile)
	}
	if err != nil {
		return nil, err
	}
	return kbeval.ForKB(dir, articles), nil
}
