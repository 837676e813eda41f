package bot_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/bot/bottest"
)

// BenchmarkRespondFAQ is one answered question through the engine
// (dedupe, lock, session load and save, routing, FAQ match) on the
// embedded stores, from 1,000 users in parallel.
func BenchmarkRespondFAQ(b *testing.B) {
	bt := bottest.New(b, bottest.Options{})
	questions := []string{"海外用户怎么联系客服", "老人打什么电话找客服", "客服一般多久回复", "商户结算异常找谁", "账号被冻结了怎么解冻"}
	var seq atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			in := bot.Inbound{OpenID: "o_bench_" + strconv.FormatInt(n%1000, 10), Kind: bot.KindText,
				Text: questions[n%int64(len(questions))], MsgID: strconv.FormatInt(n, 10)}
			if r := bt.Engine.Respond(context.Background(), in); r.Empty() {
				b.Fatal("no answer")
			}
		}
	})
}

// BenchmarkFlowStep is one answer inside a self-service flow (bill_export:
// the purpose question, alternately answered and taken back with 上一步),
// beside one answered FAQ question as the baseline, on each store (Redis
// with KEFU_TEST_REDIS_URL). Each is a whole turn: dedupe, lock, session
// load and save, routing (urgent rules run inside flows too), the step.
func BenchmarkFlowStep(b *testing.B) {
	for kind, stores := range storeKinds(b) {
		b.Run(kind+"/faq", func(b *testing.B) {
			bt := bottest.New(b, bottest.Options{Stores: stores(b)})
			bt.As("o_bench_faq")
			b.ReportAllocs()
			for b.Loop() {
				if r := bt.Say("客服一般多久回复"); r == "" {
					b.Fatal("no answer")
				}
			}
		})
		b.Run(kind+"/flow", func(b *testing.B) {
			bt := bottest.New(b, bottest.Options{Stores: stores(b)})
			bt.As("o_bench_flow")
			bt.Say("我要导出账单")
			bt.Say("近3个月")
			answers := []string{"个人对账", "上一步"}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if r := bt.Say(answers[i%2]); r == "" {
					b.Fatal("no reply")
				}
				i++
			}
			if bt.Session().Flow == nil {
				b.Fatal("left the flow")
			}
		})
	}
}
