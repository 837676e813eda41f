package main

import (
	"math/rand/v2"
	"strings"
)

// faqQuestions are everyday questions the knowledge base should answer.
var faqQuestions = []string{
	"怎么联系人工客服？",
	"微信客服电话是多少？",
	"人工客服几点上班？周末有人吗？",
	"客服一般多长时间回复？",
	"提交反馈以后多久能收到答复？",
	"我在国外，怎么联系微信客服？",
	"海外用户的问题要等多久？",
	"Hi, how can I contact WeChat support from abroad?",
	"老年人专线是多少？",
	"95017是什么电话？",
	"家里老人不会打字，有没有专门的客服热线？",
	"企业微信的问题怎么提交工单？",
	"商户遇到问题在哪里反馈？",
	"服务商怎么联系对接的客服？",
	"孩子偷偷充值了，怎么申请退款？",
	"未成年人退款要准备什么材料？",
	"未成年人退款申请多久能处理完？",
	"工单提交以后怎么查询进度？",
	"账号被冻结了怎么解冻？",
	"怎么导出微信支付账单？",
}

// handoffRequests ask for a person or report an emergency.
var handoffRequests = []string{
	"转人工",
	"人工客服",
	"我要找人工",
	"号被盗了",
	"我的号被盗了怎么办",
	"有人盗了我的微信号，快帮我冻结",
}

// nonsenseSyllables make up messages no article matches.
var nonsenseSyllables = []string{
	"啊", "哦", "呃", "咿", "呜", "吧", "啪", "嘛", "哒", "嘞", "咕", "噜", "叽", "喳", "哼", "嘿", "嗷", "呱",
	"ba", "ku", "zi", "mo", "ne", "la", "qa", "xu",
}

// msgKind is what a generated message is meant to do.
type msgKind int

const (
	kindFAQ      msgKind = iota // answered from the knowledge base
	kindNonsense                // a failed turn
	kindHandoff                 // a request for a person
)

// pickMessage returns the next user message: about 80% questions (a few
// of them urgent), 15% nonsense and 5% requests for a person — the seed's
// answer layer covers about 85% of questions.
func pickMessage(rng *rand.Rand) (string, msgKind) {
	switch p := rng.IntN(100); {
	case p < 80:
		return faqQuestions[rng.IntN(len(faqQuestions))], kindFAQ
	case p < 95:
		var b strings.Builder
		for n := 3 + rng.IntN(5); n > 0; n-- {
			b.WriteString(nonsenseSyllables[rng.IntN(len(nonsenseSyllables))])
		}
		return b.String(), kindNonsense
	default:
		return handoffRequests[rng.IntN(len(handoffRequests))], kindHandoff
	}
}
