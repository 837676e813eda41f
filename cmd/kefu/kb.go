package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kefuhq/kefu/config"
	"github.com/kefuhq/kefu/kb"
)

const kbUsage = `Usage:
  kefu kb list [-json]                          articles: status, versions, question
  kefu kb history ID                            versions of an article and what each changed
  kefu kb export [-format json|csv] [-o FILE]   every article (latest version, with its status)
  kefu kb import [-dry-run] [-expect TOKEN] [-author NAME] [-publish] [-allow-rejected]
                 [-format json|csv] FILE        add and update articles from FILE (- = stdin);
                                                -publish applies the file's statuses; -expect
                                                takes the dry run's token and refuses if the
                                                knowledge base or the file changed since
  kefu kb publish [-author NAME] ID...          publish the latest versions
  kefu kb rollback [-author NAME] [-publish] ID VERSION
                                                save version VERSION again as the newest one

CSV columns: id,question,similar,answer,answer_en,category,tags,kind,status, then title and
the other text fields; similar and tags hold items separated by |, a literal | written \|.
`

// kbCommand runs "kefu kb …" on the configured store (SQLite under the
// data directory, or Redis when KEFU_REDIS_URL is set), without a server.
// An empty store is first seeded with the configured knowledge base, as
// "kefu serve" would.
func kbCommand(ctx context.Context, cfg *config.Config, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, kbUsage)
		return fmt.Errorf("%w: kefu kb needs a command", errUsage)
	}
	cmd, args := args[0], args[1:]
	if cmd == "help" || cmd == "-h" || cmd == "-help" || cmd == "--help" {
		fmt.Fprint(stdout, kbUsage)
		return nil
	}
	fs := flag.NewFlagSet("kb "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		asJSON   = fs.Bool("json", false, "print JSON (list)")
		format   = fs.String("format", "", "json or csv (default: by the file's extension; json)")
		out      = fs.String("o", "", "write to this file instead of stdout (export)")
		dryRun   = fs.Bool("dry-run", false, "report what the import would change, change nothing")
		publish  = fs.Bool("publish", false, "publish: the file's statuses (import), the new version (rollback)")
		allowRej = fs.Bool("allow-rejected", false, "import the valid rows although some are rejected")
		expect   = fs.String("expect", "", "the token a dry run printed: import only if nothing it reported changed")
		author   = fs.String("author", defaultAuthor(), "username the changes are made under")
		nargs    int
	)
	switch cmd {
	case "list", "export":
	case "history", "import":
		nargs = 1
	case "rollback":
		nargs = 2
	case "publish":
		nargs = -1
	default:
		fmt.Fprint(stderr, kbUsage)
		return fmt.Errorf("%w: unknown command kb %q", errUsage, cmd)
	}
	fs.Usage = func() {} // said below: -h on stdout, a mistake on stderr
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, kbUsage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return nil
	}
	if err != nil {
		fmt.Fprint(stderr, kbUsage)
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if nargs >= 0 && fs.NArg() != nargs || nargs < 0 && fs.NArg() == 0 {
		fmt.Fprint(stderr, kbUsage)
		return fmt.Errorf("%w: wrong number of arguments to kb %s", errUsage, cmd)
	}

	if cmd == "import" {
		// Before the store is opened (and ./data made): a usage error costs nothing.
		if _, err := importFormat(*format, fs.Arg(0)); err != nil {
			return err
		}
	}
	a, err := openApp(ctx, cfg, newLogger(cfg, io.Discard))
	if err != nil {
		return err
	}
	defer a.Close()
	e := a.editor
	switch cmd {
	case "list":
		return kbList(ctx, e, *asJSON, stdout)
	case "history":
		return kbHistory(ctx, e, fs.Arg(0), stdout)
	case "export":
		return kbExport(ctx, e, *format, *out, stdout)
	case "import":
		return kbImport(ctx, e, fs.Arg(0), *format, stdin, stdout, kb.ImportOptions{
			Author: *author, Publish: *publish, AllowRejected: *allowRej, Expect: *expect}, *dryRun)
	case "publish":
		rev, err := e.Publish(ctx, fs.Args(), *author)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "已发布 %d 篇，发布版本 %d\n", len(fs.Args()), rev)
		return nil
	}
	to, err := strconv.Atoi(fs.Arg(1))
	if err != nil || to < 1 {
		return fmt.Errorf("%w: VERSION must be a version number, not %q", errUsage, fs.Arg(1))
	}
	return kbRollback(ctx, e, fs.Arg(0), to, *author, *publish, stdout)
}

// defaultAuthor is the user running the command.
func defaultAuthor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "cli"
}

func kbList(ctx context.Context, e *kb.Editor, asJSON bool, stdout io.Writer) error {
	heads, err := e.Heads(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(stdout, heads)
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tSTATUS\tVERSION\tPUBLISHED\tUPDATED\tBY\tQUESTION")
	for _, h := range heads {
		published := "-"
		if h.Published > 0 {
			published = strconv.Itoa(h.Published)
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", h.Article.ID, h.Article.Status, h.Latest, published,
			h.UpdatedAt.Local().Format("2006-01-02 15:04"), h.UpdatedBy, oneLine(h.Article.Question, 40))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d 篇文章\n", len(heads))
	return nil
}

// oneLine shortens s to n characters on one line, for tables.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func kbHistory(ctx context.Context, e *kb.Editor, id string, stdout io.Writer) error {
	h, err := e.Head(ctx, id)
	if err != nil {
		return err
	}
	versions, err := e.History(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s  status=%s latest=%d published=%d\n\n", id, h.Article.Status, h.Latest, h.Published)
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "VERSION\tAT\tAUTHOR\tNOTE\tCHANGES")
	for i, v := range versions {
		changes := "新建"
		if i > 0 {
			changes = describeChanges(kb.DiffArticles(versions[i-1].Article, v.Article))
		}
		mark := ""
		if v.Version == h.Published {
			mark = " *"
		}
		fmt.Fprintf(w, "%d%s\t%s\t%s\t%s\t%s\n", v.Version, mark, v.At.Local().Format(time.DateTime), v.Author, v.Note, changes)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\n* = 已发布的版本")
	events, err := e.StatusLog(ctx, id)
	if err != nil || len(events) == 0 {
		return err
	}
	fmt.Fprintln(stdout, "\n发布与归档记录：")
	for _, ev := range events {
		what := fmt.Sprintf("发布版本 %d", ev.Version)
		if ev.Action == kb.ActionArchive {
			what = fmt.Sprintf("归档（下线版本 %d）", ev.Version)
		}
		fmt.Fprintf(stdout, "  %s  %s  %s\n", ev.At.Local().Format(time.DateTime), ev.By, what)
	}
	return nil
}

// describeChanges lists changed fields on one line: list fields with their
// added (+) and removed (-) items, other fields by name.
func describeChanges(changes []kb.Change) string {
	if len(changes) == 0 {
		return "无改动"
	}
	var parts []string
	for _, c := range changes {
		p := c.Field
		for _, s := range c.Added {
			p += " +" + oneLine(s, 20)
		}
		for _, s := range c.Removed {
			p += " -" + oneLine(s, 20)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

// fileFormat returns the format given by -format, else by the file's
// extension, else def.
func fileFormat(flagValue, path string, def kb.Format) (kb.Format, error) {
	switch {
	case flagValue != "":
		return kb.ParseFormat(flagValue)
	case path != "" && path != "-":
		return kb.FormatOf(path)
	}
	return def, nil
}

func kbExport(ctx context.Context, e *kb.Editor, format, out string, stdout io.Writer) error {
	f, err := fileFormat(format, out, kb.FormatJSON)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	articles, err := e.Export(ctx)
	if err != nil {
		return err
	}
	if out == "" || out == "-" {
		return kb.WriteFile(stdout, f, articles)
	}
	file, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := kb.WriteFile(file, f, articles); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

// importFormat returns the format of the file to import, named by the
// -format flag or the path's extension.
func importFormat(flagValue, path string) (kb.Format, error) {
	f, err := fileFormat(flagValue, path, "")
	switch {
	case err != nil:
		return "", fmt.Errorf("%w: %v", errUsage, err)
	case f == "":
		return "", fmt.Errorf("%w: say -format json or csv for stdin", errUsage)
	}
	return f, nil
}

func kbImport(ctx context.Context, e *kb.Editor, path, format string, stdin io.Reader, stdout io.Writer, opts kb.ImportOptions, dryRun bool) error {
	f, err := importFormat(format, path)
	if err != nil {
		return err
	}
	in := stdin
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return err
		}
		defer file.Close()
		in = file
	}
	rows, err := kb.ReadFile(in, f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	plan, err := e.PlanImport(ctx, rows, opts.Publish)
	if err != nil {
		return err
	}
	printPlan(stdout, plan)
	if len(plan.Rejected) > 0 && !opts.AllowRejected {
		return fmt.Errorf("%d 行被拒绝，未导入任何文章（改正后重试，或加 -allow-rejected 导入其余各行）: %w", len(plan.Rejected), kb.ErrRejected)
	}
	if dryRun {
		fmt.Fprintf(stdout, "试运行：未写入任何改动。确认后用 -expect %s 导入，期间若有改动则不导入。\n", plan.Token)
		return nil
	}
	res, err := e.ApplyImport(ctx, plan, opts)
	switch {
	case errors.Is(err, kb.ErrStalePlan):
		return fmt.Errorf("试运行之后知识库或文件有了改动，未导入任何文章；上面是新的报告，确认后用 -expect %s 导入 (%w)", plan.Token, err)
	case errors.Is(err, kb.ErrConflict):
		return fmt.Errorf("文章 %s 在导入期间被他人保存，导入在此停止，未覆盖或发布其改动（已保存 %d 篇）；请重新试运行 (%w)", res.Conflict, len(res.Saved), err)
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "已导入：保存 %d 篇新版本，发布 %d 篇，归档 %d 篇（作者 %s，发布版本 %d）。\n",
		len(res.Saved), len(res.Published), len(res.Archived), opts.Author, res.Revision)
	if !opts.Publish && len(res.Saved) > 0 {
		fmt.Fprintln(stdout, "新版本是草稿，机器人仍用已发布的版本回答；加 -publish 导入或用 kefu kb publish 发布。")
	}
	return nil
}

// printPlan writes the dry run's report.
func printPlan(w io.Writer, p kb.Plan) {
	fmt.Fprintf(w, "新增 %d 篇，修改 %d 篇，未变 %d 篇，拒绝 %d 行。\n",
		len(p.Added), len(p.Changed), len(p.Unchanged), len(p.Rejected))
	for _, it := range p.Added {
		fmt.Fprintf(w, "  + %s（第 %d 行）%s\n", it.Article.ID, it.Row, oneLine(it.Article.Question, 30))
	}
	for _, it := range p.Changed {
		fmt.Fprintf(w, "  ~ %s（第 %d 行）%s\n", it.Article.ID, it.Row, describeChanges(it.Changes))
	}
	for _, r := range p.Rejected {
		fmt.Fprintf(w, "  ! %s\n", r)
	}
	if len(p.Publish) > 0 {
		fmt.Fprintf(w, "  发布 %d 篇：%s\n", len(p.Publish), strings.Join(p.Publish, ", "))
	}
	if len(p.Archive) > 0 {
		fmt.Fprintf(w, "  归档 %d 篇：%s\n", len(p.Archive), strings.Join(p.Archive, ", "))
	}
}

func kbRollback(ctx context.Context, e *kb.Editor, id string, to int, author string, publish bool, stdout io.Writer) error {
	before, err := e.Head(ctx, id)
	if err != nil {
		return err
	}
	v, err := e.Rollback(ctx, id, to, author)
	if err != nil {
		return err
	}
	if v.Version == before.Latest {
		fmt.Fprintf(stdout, "%s：当前版本 %d 的内容已与版本 %d 相同，未生成新版本。\n", id, v.Version, to)
		if !publish || before.Published == before.Latest {
			return nil
		}
	} else {
		fmt.Fprintf(stdout, "%s：版本 %d 的内容已另存为版本 %d。\n", id, to, v.Version)
	}
	if !publish {
		fmt.Fprintln(stdout, "新版本是草稿；加 -publish 或用 kefu kb publish 发布。")
		return nil
	}
	rev, err := e.Publish(ctx, []string{id}, author)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "已发布（发布版本 %d）。\n", rev)
	return nil
}
