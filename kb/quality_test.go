package kb

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// paraphrases are everyday questions written the way users type them. None is
// copied from the knowledge base; each must match its article first, with a
// Score at or above DefaultThreshold.
var paraphrases = []struct {
	name  string
	query string
	want  string
}{
	{"channels/where", "请问微信官方客服从哪些途径能联系上", "channels-overview"},
	{"channels/entry", "微信的客服入口到底在哪里啊", "channels-overview"},
	{"channels/you", "怎么联系你们", "channels-overview"},
	{"official-account/feedback", "微信团队那个公众号里能反馈问题吗", "channels-official-account"},
	{"official-account/abnormal", "我的账号出现异常了应该去哪里反馈", "channels-official-account"},
	{"mini-program/payment", "付钱的时候出了问题该找哪里的客服", "channels-mini-program"},
	{"mini-program/dispute", "订单有纠纷可以在哪申诉呢", "channels-mini-program"},
	{"human/find", "怎么才能找到人工客服", "human-agent"},
	{"human/real", "我想和真人客服说话", "human-agent"},
	{"human/bot-useless", "机器人一直答非所问,我要找人", "human-agent"},
	{"response/how-long", "客服大概多久会回我", "response-time"},
	{"response/no-reply", "提交了好几天了怎么还没人回复", "response-time"},
	{"complaint/wechat", "我要投诉你们微信的服务", "complaint-suggestion"},
	{"complaint/suggest", "给微信提个建议在哪里提", "complaint-suggestion"},
	{"about/what", "你好,你能干什么", "about-service"},
	{"best-time/hour", "一般几点找客服比较快", "best-time"},
	{"best-time/night", "凌晨提交工单会不会快一些", "best-time"},
	{"urgent/fast", "遇到急事怎么能最快找到人工", "urgent-keywords"},
	{"merge/two-channels", "同一个问题我在公众号和小程序都提交了会怎样", "ticket-merge"},
	{"repeat/limited", "工单重复提交会不会被限制", "repeat-limit"},
	{"repeat/interval", "隔多久可以再提交一次工单", "repeat-limit"},
	{"overseas/abroad", "我在国外,怎么联系微信客服", "overseas-contact"},
	{"overseas/where", "海外的用户要在哪里提交问题", "overseas-contact"},
	{"language/english", "你们有说英语的客服吗", "service-language"},
	{"elderly/phone", "我爸妈年纪大了,打什么电话能找到客服", "elderly-hotline"},
	{"elderly/typing", "老人家不会打字怎么联系客服", "elderly-hotline"},
	{"blind/voice", "我是盲人,怎么使用语音客服", "visually-impaired"},
	{"blind/care-mode", "关怀模式的语音客服在哪里开", "visually-impaired"},
	{"deaf/sign", "聋哑人可以用手语和客服沟通吗", "sign-language"},
	{"green/what", "绿色通道是干什么的", "green-channel-overview"},
	{"minor/game", "孩子玩游戏充了钱,怎么申请退款", "minor-refund"},
	{"minor/time", "未成年人退款一般要多长时间", "minor-refund"},
	{"fraud/report", "遇到骗子了怎么举报", "fraud-report"},
	{"fraud/receipt", "报案回执要在哪里上传", "fraud-report"},
	{"fraud/case-code", "我有案件编码,怎么查处理结果", "fraud-case-query"},
	{"freeze/lost-phone", "手机丢了,怎么把微信冻结", "emergency-freeze"},
	{"freeze/how", "紧急冻结要怎么弄", "emergency-freeze"},
	{"stolen/days", "号被盗了一般几天能处理好", "stolen-account-timeline"},
	{"unfreeze/frozen", "我的微信被冻结了,怎样才能解冻", "account-unfreeze"},
	{"unfreeze/restricted", "微信登录提示账号被限制怎么办", "account-unfreeze"},
	{"bill/export", "怎么导出微信的账单", "bill-export"},
	{"bill/print", "想打印一下交易流水", "bill-export"},
	{"self-service/list", "有哪些可以自己办理的自助功能", "self-service-tools"},
	{"tiers/bot", "回复我的是不是机器人", "service-tiers"},
	{"progress/ticket", "我提交的工单现在处理到什么进度了", "ticket-progress"},
	{"describe/write", "工单要怎么写才能处理得快", "describe-problem"},
	{"describe/screenshot", "反馈问题要不要附上截图", "describe-problem"},
	{"credit/700", "支付分超过700有什么好处", "credit-priority"},
	{"rejected/why", "我的申请被驳回了该怎么处理", "ticket-rejected"},
	{"merchant/settlement", "商户结算出现异常要找谁", "merchant-support"},
	{"merchant/backend", "商家后台怎么提交工单", "merchant-support"},
	{"enterprise/faster", "企业认证了提交工单会快一点吗", "enterprise-priority"},
	{"provider/debug", "服务商遇到技术调试问题找谁", "service-provider"},
	{"escort/join", "怎么加入技术护航", "tech-escort"},
	{"overseas-enterprise/payment", "境外公司跨境收款有问题怎么办", "overseas-enterprise"},
	{"boundary/others-chat", "能不能帮我看看我老婆的聊天记录", "boundary-chat-records"},
	{"boundary/deleted-chat", "删除的聊天记录还能恢复吗", "boundary-chat-records"},
	{"boundary/contacts", "我想把微信好友导出来", "boundary-contacts-export"},
	{"boundary/foreign-number", "我的账号是用美国号码注册的,出问题找谁", "boundary-cross-border"},
	{"boundary/ios-crash", "iPhone升级系统后微信老是闪退", "boundary-ios"},
	{"boundary/stock", "这支股票明天能涨吗", "boundary-financial-advice"},
	{"boundary/fund", "推荐个收益高的基金", "boundary-financial-advice"},
	{"boundary/fake-goods", "网购买到假货,商家不退怎么投诉", "boundary-consumer-complaint"},
	{"boundary/rumor", "看到网上有人造谣去哪里举报", "boundary-illegal-content"},
	{"boundary/gambling", "有个赌博网站想举报", "boundary-illegal-content"},
	{"traditional/overseas", "我在國外,怎麼聯繫微信客服", "overseas-contact"},
	{"fullwidth/ios", "ｉＰｈｏｎｅ升级系统后微信闪退", "boundary-ios"},
}

// englishQueries are English questions; they must match articles that have
// an English answer.
var englishQueries = []struct {
	name  string
	query string
	want  string
}{
	{"contact", "How can I reach WeChat support?", "channels-overview"},
	{"human", "I want to talk to a human", "human-agent"},
	{"reply-time", "how long will it take to get a reply", "response-time"},
	{"overseas", "I'm overseas, how do I get help with WeChat?", "overseas-contact"},
	{"language", "do you have English speaking staff", "service-language"},
	{"unfreeze", "my account got frozen, how to unfreeze", "account-unfreeze"},
	{"bill", "how to export my bills", "bill-export"},
	{"lost-phone", "I lost my phone and need to lock my account", "emergency-freeze"},
	{"scam", "how do I report a scam", "fraud-report"},
	{"ticket-status", "how can I check the status of my ticket", "ticket-progress"},
	{"stock", "should I buy this stock", "boundary-financial-advice"},
	{"ios", "WeChat keeps crashing since I updated iOS", "boundary-ios"},
	{"foreign-number", "my WeChat is registered with a US phone number, can you help", "boundary-cross-border"},
	{"bot", "are you a robot", "service-tiers"},
	{"about", "what can you help me with", "about-service"},
	{"wait", "how long until someone replies", "response-time"},
	{"abroad-login", "I live abroad and can't log in", "overseas-contact"},
	{"illegal", "where do I report illegal content", "boundary-illegal-content"},
}

// offTopic are questions the knowledge base does not answer; they must score
// below DefaultThreshold.
var offTopic = []struct {
	name  string
	query string
}{
	{"lunch", "今天午饭吃什么"},
	{"movie", "推荐一部电影"},
	{"recipe", "怎么做红烧肉"},
	{"weather", "今天天气怎么样"},
	{"poem", "帮我写首诗"},
	{"rain", "明天会下雨吗"},
	{"joke", "讲个笑话听听"},
	{"train", "北京到上海的高铁几点发车"},
	{"restaurant", "附近有什么好吃的餐厅"},
	{"diet", "怎么减肥最有效"},
	{"cat", "猫咪不吃东西怎么办"},
	{"math", "1加1等于几"},
	{"mountain", "世界上最高的山是哪座"},
	{"alarm", "帮我定一个早上七点的闹钟"},
	{"weekend", "周末去哪里玩好"},
	{"song", "给我唱首歌"},
	{"fever", "宝宝发烧了怎么办"},
	{"cold", "感冒了吃什么药"},
	{"spring-festival", "今年春节是几号"},
	{"tomato", "西红柿炒鸡蛋怎么做"},
	{"tv", "最近有什么好看的电视剧"},
	{"plants", "多肉植物怎么养"},
	{"en/weather", "what's the weather like today"},
	{"en/joke", "tell me a joke"},
	{"en/movie", "recommend a good movie"},
	{"en/pasta", "how do I cook pasta"},
}

// hardOffTopic are off-topic questions that share a distinctive word with an
// article (学英语 vs 英语客服). A lexical matcher scores them like weak
// paraphrases; they are logged, not asserted, to keep the limitation visible.
var hardOffTopic = []string{
	"怎么学好英语",
}

func TestQualityParaphrases(t *testing.T) {
	ix := mustDefaultIndex(t)
	for _, tt := range paraphrases {
		t.Run(tt.name, func(t *testing.T) {
			checkTop1(t, ix, tt.query, tt.want)
		})
	}
}

func TestQualityEnglish(t *testing.T) {
	ix := mustDefaultIndex(t)
	for _, tt := range englishQueries {
		t.Run(tt.name, func(t *testing.T) {
			if !DetectEnglish(tt.query) {
				t.Errorf("DetectEnglish(%q) = false", tt.query)
			}
			m := checkTop1(t, ix, tt.query, tt.want)
			if m != nil && m.Article.AnswerEN == "" {
				t.Errorf("%q matched %s, which has no English answer", tt.query, m.Article.ID)
			}
		})
	}
}

func TestQualityOffTopic(t *testing.T) {
	ix := mustDefaultIndex(t)
	for _, tt := range offTopic {
		t.Run(tt.name, func(t *testing.T) {
			ms := ix.Search(tt.query, 1)
			if len(ms) > 0 && ms[0].Score >= DefaultThreshold {
				t.Errorf("Search(%q) = %s (%q) score %.3f, want below %.2f",
					tt.query, ms[0].Article.ID, ms[0].Question, ms[0].Score, DefaultThreshold)
			}
		})
	}
	for _, q := range hardOffTopic {
		if ms := ix.Search(q, 1); len(ms) > 0 {
			t.Logf("known limitation: off-topic %q matches %s with score %.3f", q, ms[0].Article.ID, ms[0].Score)
		}
	}
}

// TestQualityNotCopied checks that the test questions, and the everyday
// questions of testdata/default_kb, are not copied from the knowledge
// base, so that they measure paraphrases.
func TestQualityNotCopied(t *testing.T) {
	articles, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	kbQuestions := make(map[string]string)
	for _, a := range articles {
		for _, q := range append(a.Questions(), a.Title) {
			kbQuestions[normalizeForCompare(q)] = a.ID
		}
	}
	var queries []string
	for _, tt := range paraphrases {
		queries = append(queries, tt.query)
	}
	for _, tt := range englishQueries {
		queries = append(queries, tt.query)
	}
	for _, tt := range offTopic {
		queries = append(queries, tt.query)
	}
	for _, split := range []string{"dev", "test"} {
		data, err := os.ReadFile("testdata/default_kb/" + split + ".jsonl")
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(data)) {
			var ex struct{ Text string }
			if err := json.Unmarshal([]byte(line), &ex); err != nil {
				t.Fatalf("default_kb/%s.jsonl: %v", split, err)
			}
			queries = append(queries, ex.Text)
		}
	}
	for _, q := range queries {
		if id, ok := kbQuestions[normalizeForCompare(q)]; ok {
			t.Errorf("test question %q is a question of article %s", q, id)
		}
	}
}

// normalizeForCompare folds text and keeps only letters and digits.
func normalizeForCompare(s string) string {
	var b strings.Builder
	for _, r := range s {
		r = fold(r)
		if c := classify(r); c == classCJK || c == classWord {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func checkTop1(t *testing.T, ix *Index, query, want string) *Match {
	t.Helper()
	if _, ok := ix.Article(want); !ok {
		t.Fatalf("test expects unknown article %q", want)
	}
	ms := ix.Search(query, 3)
	if len(ms) == 0 {
		t.Errorf("Search(%q) found nothing, want %s", query, want)
		return nil
	}
	if ms[0].Article.ID != want || ms[0].Score < DefaultThreshold {
		t.Errorf("Search(%q) = %s (%q) score %.3f, want %s at or above %.2f; runners-up: %s",
			query, ms[0].Article.ID, ms[0].Question, ms[0].Score, want, DefaultThreshold, describe(ms[1:]))
	}
	return &ms[0]
}

func describe(ms []Match) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%s %.3f; ", m.Article.ID, m.Score)
	}
	return b.String()
}

func mustDefaultIndex(tb testing.TB) *Index {
	tb.Helper()
	articles, err := Default()
	if err != nil {
		tb.Fatalf("Default: %v", err)
	}
	return NewIndex(articles)
}

// TestQualityScores logs the score of every table query, for calibrating
// DefaultThreshold: go test ./kb -run TestQualityScores -v with KB_SCORES=1.
func TestQualityScores(t *testing.T) {
	if os.Getenv("KB_SCORES") == "" {
		t.Skip("set KB_SCORES=1 to log scores")
	}
	ix := mustDefaultIndex(t)
	log := func(kind, q, want string) {
		ms := ix.Search(q, 2)
		top, score, second := "-", 0.0, 0.0
		if len(ms) > 0 {
			top, score = ms[0].Article.ID, ms[0].Score
		}
		if len(ms) > 1 {
			second = ms[1].Score
		}
		mark := ""
		if want != "" && top != want {
			mark = " WRONG want " + want
		}
		t.Logf("%s %.3f (2nd %.3f) %-28s %s%s", kind, score, second, top, q, mark)
	}
	for _, tt := range paraphrases {
		log("IN ", tt.query, tt.want)
	}
	for _, tt := range englishQueries {
		log("EN ", tt.query, tt.want)
	}
	for _, tt := range offTopic {
		log("OOS", tt.query, "")
	}
	for _, q := range hardOffTopic {
		log("HARD", q, "")
	}
}
