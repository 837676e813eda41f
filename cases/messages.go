package cases

// The text of this package that people read: Chinese first, then English.

// statusTitles name each status: [Chinese, English].
var statusTitles = map[Status][2]string{
	StatusSubmitted:  {"已提交", "Submitted"},
	StatusProcessing: {"处理中", "Processing"},
	StatusResolved:   {"已解决", "Resolved"},
	StatusRejected:   {"已驳回", "Rejected"},
}

// Replies of Case.Describe: [Chinese, English] format strings.
var (
	// msgDescribe: case number, title, status title, time of the last change.
	msgDescribe = [2]string{"案件 %s（%s）当前状态：%s，更新于 %s。", "Case %s (%s) is %s, updated %s."}
	// msgDescribeNote: the note of the last change.
	msgDescribeNote = [2]string{"说明：%s", "Note: %s"}
)

// byKefu is who opens a case when NewCase.By is empty.
const byKefu = "kefu"
