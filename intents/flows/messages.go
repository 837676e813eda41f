package flows

import "github.com/kefuhq/kefu/internal/i18n"

// text is one user-facing message in Chinese and English.
type text = i18n.Text

// The runner's own words; everything else a flow says is in its definition.
var (
	// msgExpired: %s flow title, %d minutes.
	msgExpired = text{
		ZH: "您之前办理的「%s」已超过 %d 分钟未操作，已自动结束，填写的信息未提交。如需继续，请重新发起。",
		EN: "Your \"%s\" request was idle for more than %d minutes and has ended; nothing was submitted. Start again any time.",
	}
	// msgCancelled: %s flow title.
	msgCancelled = text{
		ZH: "已退出「%s」，填写的信息未提交。还有其他问题可以直接问我。",
		EN: "You've left \"%s\"; nothing was submitted. Ask me anything else.",
	}
	msgFlowGone = text{
		ZH: "抱歉，您正在办理的服务已更新，请重新发起。",
		EN: "Sorry, this service has been updated; please start again.",
	}
	// msgInvalid: %s hint.
	msgInvalid = text{
		ZH: "输入的内容不符合要求。%s\n（回复“上一步”修改上一项，回复“取消”退出）",
		EN: "That answer doesn't fit. %s\n(Reply \"back\" to change the previous answer, \"cancel\" to leave.)",
	}
	// msgInvalidAgain: %s hint.
	msgInvalidAgain = text{
		ZH: "还是不符合要求。%s\n如需人工协助，请回复“转人工”；回复“取消”退出。",
		EN: "That still doesn't fit. %s\nReply \"agent\" for a person, or \"cancel\" to leave.",
	}
	msgYesNo = text{
		ZH: "请回复“是”确认，或回复“否”修改。",
		EN: "Please reply \"yes\" to confirm or \"no\" to change it.",
	}
	msgFirstStep = text{
		ZH: "已经是第一步了。",
		EN: "This is the first step.",
	}
	msgSkippable = text{
		ZH: "\n（没有可回复“跳过”）",
		EN: "\n(Reply \"skip\" if you have none.)",
	}
	msgNotGiven    = text{ZH: "未填写", EN: "not given"}
	msgBackendDown = text{
		ZH: "抱歉，业务系统暂时无法处理您的申请。已为您转接人工客服，您填写的信息会一并提交，无需重复填写。",
		EN: "Sorry, the system can't process your request right now. A person will take over with what you've entered.",
	}
	msgRefusedHandoff = text{
		ZH: "为保障您的账户安全，已为您转接人工客服继续处理，您填写的信息会一并提交。",
		EN: "To keep your account safe, a person will take over; what you've entered goes with it.",
	}
	// msgCaseNotFound: %s case number.
	msgCaseNotFound = text{
		ZH: "没有查到您名下的案件 %s，请核对案件号（格式如 KF20261125-7Q4M）。",
		EN: "No case %s was found for you; please check the number (e.g. KF20261125-7Q4M).",
	}
	msgNoCases = text{
		ZH: "您目前没有可查询的案件。通过自助服务提交的申请会生成案件号，可随时回复“查询进度 案件号”查看。",
		EN: "You have no cases yet. Requests made through self-service get a case number you can look up any time.",
	}
)

// msgRecordedLocally is the first note of a case kefu recorded itself,
// with no business backend configured.
const msgRecordedLocally = "已由 kefu 记录，等待人工处理（未配置业务后台）"
