package kb

// t2sPairs lists common traditional characters, each followed by its
// simplified form. Only characters that do not also appear in ordinary
// simplified text are listed, so folding never changes simplified input.
const t2sPairs = "們们說说請请問问帳账號号錢钱詐诈騙骗凍冻結结戶户聯联繫系係系語语話话國国際际務务員员" +
	"這这來来時时會会對对過过還还點点開开關关網网電电腦脑銀银費费買买賣卖麼么個个為为無无" +
	"與与樣样裡里裏里讓让沒没處处辦办證证絡络碼码驗验機机線线綫线頁页單单據据詢询紀纪錄录" +
	"刪删訊讯轉转綁绑鎖锁護护險险額额應应該该嗎吗誰谁幫帮寫写詩诗體体壞坏當当實实從从兒儿" +
	"歲岁齡龄視视聽听華华門门風风動动態态報报訴诉舉举違违規规權权響响顯显錯错誤误異异題题" +
	"難难簡简專专屬属經经營营業业團团隊队優优選选擇择間间週周筆笔條条紅红發发現现憑凭圖图" +
	"傳传長长愛爱東东車车書书學学習习認认識识見见頭头臉脸廣广產产價价貨货幣币損损補补償偿" +
	"導导師师課课鐘钟鍾钟歷历麵面飯饭餓饿氣气溫温雲云陽阳燈灯換换臺台裝装復复雜杂親亲頻频" +
	"訂订購购貼贴資资設设備备統统數数庫库戲戏遊游兌兑獎奖餘余陸陆灣湾區区島岛協协聾聋啞哑" +
	"殘残礙碍啟启蘋苹閃闪蹤踪跡迹進进狀状況况確确嚴严緊紧謝谢歡欢幾几塊块萬万億亿給给邊边" +
	"銷销註注冊册鏈链贈赠禮礼讚赞範范圍围級级漢汉譯译醫医療疗藥药讀读罰罚擊击盜盗竊窃騷骚" +
	"擾扰劃划撥拨掃扫創创夠够隨随鬧闹鈴铃預预黃黄腳脚準准將将層层樓楼燒烧魚鱼雞鸡飲饮湯汤" +
	"場场廳厅劇剧馬马媽妈爺爷奶奶孫孙戀恋婦妇歸归塗涂寶宝貝贝縣县鄉乡農农驗验檢检測测試试" +
	"執执照照勞劳動动職职稅税務务貸贷債债爭争議议決决斷断聲声響响嗎吗麼么呢呢龍龙鳳凤"

// t2s maps traditional characters to simplified ones. It is built once and
// only read afterwards.
var t2s = buildT2S(t2sPairs)

func buildT2S(pairs string) map[rune]rune {
	rs := []rune(pairs)
	m := make(map[rune]rune, len(rs)/2)
	for i := 0; i+1 < len(rs); i += 2 {
		if rs[i] != rs[i+1] {
			m[rs[i]] = rs[i+1]
		}
	}
	return m
}
