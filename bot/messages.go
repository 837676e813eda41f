package bot

import "github.com/kefuhq/kefu/internal/i18n"

// text is one user-facing message in Chinese and English.
type text = i18n.Text

// The bot's own words. Answers to questions live in the knowledge base.
var (
	msgWelcome = text{
		ZH: "您好，欢迎关注！我是智能客服，可以帮您：\n" +
			"1. 解答常见问题：联系人工客服的渠道、处理时效、海外服务、老年人与无障碍服务、企业商户服务等；\n" +
			"2. 紧急情况（账号被盗、被骗转账、资金损失、未成年人充值退款）优先转人工紧急处理；\n" +
			"3. 我解决不了的问题，回复“转人工”即可排队等待人工客服。\n" +
			"请直接用文字描述您的问题。",
		EN: "Hello! I'm the customer-service assistant. I can answer common questions (how to reach support, " +
			"response times, overseas service, business support), fast-track emergencies (stolen account, fraud, " +
			"lost funds, a minor's payment), and connect you to a person: just type \"agent\". " +
			"Please describe your question in a message.",
	}
	msgThanks = text{
		ZH: "不客气！还有其他问题随时问我。",
		EN: "You're welcome! Ask me anything else any time.",
	}
	msgAck = text{
		ZH: "好的。还有其他问题随时问我。",
		EN: "OK. Ask me anything else any time.",
	}
	msgAskToType = text{
		ZH: "抱歉，暂时无法识别这条语音。请用文字描述您的问题，我马上为您解答。",
		EN: "Sorry, I couldn't make out that voice message. Please type your question.",
	}
	msgAttachment = text{
		ZH: "已收到您发送的内容。请再用文字简单描述一下您遇到的问题，我来为您解答；需要人工处理时，这些内容会一并提交给客服。",
		EN: "Got it. Please also describe your problem in words; if a person needs to handle it, this will be passed on.",
	}
	msgFallback = text{
		ZH: "抱歉，我没能理解您的问题。可以换个说法，或说得具体一些（例如“海外用户怎么联系客服”）。",
		EN: "Sorry, I didn't understand. Could you rephrase or add details (e.g. \"how do overseas users contact support\")?",
	}
	msgFallbackLast = text{
		ZH: "抱歉，还是没能帮到您。再说一次您的问题，如果仍无法解决，我会为您转接人工客服；也可以直接回复“转人工”。",
		EN: "Sorry I still couldn't help. Tell me once more; if I can't solve it I'll pass you to a person, or type \"agent\" now.",
	}
	msgNotHelpful = text{
		ZH: "抱歉没能解决您的问题。能再具体描述一下吗？比如发生了什么、在哪个页面、什么时间。",
		EN: "Sorry that didn't help. Could you describe it in more detail: what happened, where and when?",
	}
	// msgHandoff: %s lane title, %s ticket id, %d position, %s expected wait.
	msgHandoff = text{
		ZH: "已为您转接人工客服（%s），工单号 %s。当前排队第 %d 位，预计 %s内回复。\n" +
			"排队期间可以继续发送补充说明或截图，会一并提交给客服；回复“排队进度”查看进度，回复“取消”取消排队。",
		EN: "You've been passed to a person (%s), ticket %s. You are number %d in the queue; expect a reply within %s.\n" +
			"You can keep sending details or screenshots meanwhile. Reply \"position\" for your place in the queue, \"cancel\" to leave it.",
	}
	// msgMerged: %s ticket id, %s lane title, %d position, %s expected wait.
	msgMerged = text{
		ZH: "您已有处理中的工单 %s，本次问题已合并到该工单并提高了优先级（%s）。当前排队第 %d 位，预计 %s内回复。",
		EN: "You already have ticket %s open; this request was added to it with a higher priority (%s). You are number %d; expect a reply within %s.",
	}
	// msgLimited: %s ticket id, %s status.
	msgLimited = text{
		ZH: "您在12小时内已多次提交人工服务申请，最近的工单是 %s（%s）。为避免重复排队，请耐心等待处理结果；如有新情况，可在12小时后再次申请，紧急情况（被盗、被骗）不受此限制。",
		EN: "You have asked for a person several times in the last 12 hours; your latest ticket is %s (%s). Please wait for it; urgent cases (stolen account, fraud) are never limited.",
	}
	msgFreezeFirst = text{
		ZH: "【请先保护账号】如怀疑账号被盗，请立即紧急冻结：在微信“我-设置-帮助与反馈”或“微信团队”公众号中输入“紧急冻结”，通过人脸/指纹验证后即可锁定账号；他人无法在冻结期间登录和转账。请同时提醒亲友不要向以您名义借钱的消息转账。\n",
		EN: "[Protect your account first] If your account may be stolen, freeze it now: type \"emergency freeze\" under Me > Settings > Help & Feedback and pass the face/fingerprint check. Warn your contacts not to send money to anyone using your name.\n",
	}
	msgFraudFirst = text{
		ZH: "【请先止损】如已向骗子转账，请立即拨打110报警并联系银行冻结相关账户，保留聊天记录和转账凭证；拿到警方立案回执后可提交给客服，用于查询处理进度。\n",
		EN: "[Stop the loss first] If you sent money to a scammer, call the police (110) and your bank now, and keep the chat and transfer records; the police case receipt helps us track your case.\n",
	}
	// msgPosition: %s ticket id, %s lane title, %d position, %s expected wait.
	msgPosition = text{
		ZH: "您的工单 %s 正在%s排队，当前第 %d 位，预计 %s内回复。",
		EN: "Your ticket %s is waiting in the %s, number %d; expect a reply within %s.",
	}
	msgWithAgent = text{
		ZH: "您的工单 %s 正由人工客服处理中，请直接留言，客服会尽快回复。",
		EN: "Your ticket %s is being handled by a person; leave your message here and they will reply soon.",
	}
	msgCancelled = text{
		ZH: "已为您取消排队（工单 %s 已关闭）。还有问题可以直接问我。",
		EN: "Your place in the queue is cancelled (ticket %s closed). Ask me anything any time.",
	}
	msgEvidenceKept = text{
		ZH: "已收到，已附加到您的工单 %s，客服处理时可以看到。",
		EN: "Received and attached to your ticket %s.",
	}
	// msgStillQueued: %s ticket id.
	msgStillQueued = text{
		ZH: "您的工单 %s 仍在排队，客服会尽快联系您；回复“排队进度”查看进度。",
		EN: "Your ticket %s is still in the queue; reply \"position\" to see your place.",
	}
	// msgFlowResume: %s flow title; the flow's question follows.
	msgFlowResume = text{
		ZH: "「%s」还在办理中，请继续（回复“取消”退出）：",
		EN: "\"%s\" is still in progress; please go on (reply \"cancel\" to stop):",
	}
	// msgFlowOffer: %s flow title.
	msgFlowOffer = text{
		ZH: "\n\n回复“办理”即可在这里直接办理「%s」。",
		EN: "\n\nReply \"apply\" to do \"%s\" right here.",
	}
	msgEscalated = text{
		ZH: "已将您的工单 %s 升级到%s优先处理，预计 %s内回复。",
		EN: "Your ticket %s has been moved to the %s; expect a reply within %s.",
	}
)

var msgBusy = text{
	ZH: "抱歉，系统繁忙，请稍后再发一次。",
	EN: "Sorry, the system is busy. Please send that again in a moment.",
}
