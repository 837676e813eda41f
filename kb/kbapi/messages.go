package kbapi

import "github.com/kefuhq/kefu/kb"

// The messages of this package that people read: Chinese first, then
// English. kb's own error messages (validation, import rows) pass through
// as they are.
const (
	msgSignIn            = "请先登录 (sign in first)"
	msgNotVersion        = " 须为版本号（从 1 起的整数）(must be a version number, from 1), not "
	msgNotFlag           = " 须为 1 或 0 (must be 1 or 0), not "
	msgBadStatus         = "status 须为 draft、published、archived 或 pending (status must be draft, published, archived or pending), not "
	msgBadSort           = "sort 须为 id、category、status、version 或 updated，可加 - 表示倒序 (sort must be id, category, status, version or updated, - first for the reverse), not "
	msgBadCount          = "%s 须为整数 %s (%[1]s must be a whole number %[2]s), not %[3]s"
	msgOtherID           = "正文中的 id %q 与地址中的 %q 不同 (the id in the body, %[1]q, is not the one in the path, %[2]q)"
	msgNoBase            = "缺少或无效的 base_version：请给出你编辑的版本号，0 或更大 (base_version is missing or invalid: the version your edit started from, 0 or more)"
	msgExists            = "文章 %s 已存在（版本 %d，%s 保存）；请换一个 id 或编辑该文章 (article %[1]s exists, version %[2]d by %[3]s: choose another id or edit it)"
	msgStale             = "文章 %s 已被修改：当前是版本 %d（%s 于 %s 保存），你编辑的是版本 %d；请查看最新版本后再保存 (article %[1]s changed meanwhile: the current version is %[2]d, saved by %[3]s at %[4]s; you edited version %[5]d)"
	msgMovedOn           = "文章 %s 在你查看后又被保存：当前是版本 %d（%s 于 %s 保存），你查看的是版本 %d；未做任何更改，请查看最新版本后再操作 (article %[1]s was saved since you looked: the current version is %[2]d, saved by %[3]s at %[4]s; you looked at version %[5]d; nothing changed)"
	msgArchivedSince     = "文章 %s 在你打开后已被 %s 于 %s 归档；未保存。如需恢复它，请载入最新状态后再修改保存 (article %[1]s was archived by %[2]s at %[3]s since you opened it: nothing saved; load it again to restore it)"
	msgUnchanged         = "没有改动，未生成新版本 (nothing changed: no new version made)"
	msgStatusSince       = "文章 %s 在你打开后已被 %s 于 %s 设为%s；未做任何更改，请查看最新状态后再操作 (article %[1]s was made %[4]s by %[2]s at %[3]s since you opened it: nothing changed)"
	msgGroupGone         = "这组未答问题已被他人处理（加入文章或忽略），请刷新列表 (this group was handled by someone else meanwhile: reload the queue)"
	msgNoRollbackVersion = "请给出要回滚到的版本 version (version, the version to roll back to, is required)"
	msgNeedsPublish      = "已保存为草稿，发布后机器人才会使用 (saved as a draft: publish it for the bot to answer with it)"
	msgLive              = "已保存，机器人正在使用此版本 (saved: the bot answers with this version)"
	msgNotNotified       = "已发布，但未能通知其他实例；它们将在几秒内自行更新 (published, but telling the other instances failed: they catch up within seconds)"
	msgNoQuestion        = "请输入要测试的问题 (question is empty)"
	msgNoRouter          = "机器人尚未就绪，请稍后再试 (the bot is not ready yet: try again shortly)"
	msgBadAgainst        = "against 须为 published 或 draft (against must be published or draft)"
	msgNoArticleID       = "请给出要加入相似问题的文章 article_id (article_id is required)"
	msgBadFormat         = "不支持的格式 %q，须为 json 或 csv (unknown format %[1]q: want json or csv)"
	msgNoFormat          = "请用 ?format=json 或 ?format=csv 指明文件格式 (say the file's format: ?format=json or ?format=csv)"
	msgImportType        = "%s 文件的 Content-Type 须为 %v 或 application/octet-stream (a %[1]s file must be sent as %[2]v or application/octet-stream)"
	msgReadBody          = "读取请求正文失败 (reading the body failed)"
	msgTooLarge          = "文件超过 %d MiB (the file is over %[1]d MiB)"
	msgStalePlan         = "试运行之后，文件中的文章在知识库里有了改动（或发送的文件与试运行时不同），未做任何更改；这是新的报告，请确认后再应用 (the file's articles changed in the knowledge base since the dry run, or the file sent is not the one tried: nothing changed; here is the new report, review it and apply again)"
	msgImportConflict    = "文章 %s 在导入期间被他人保存，导入在此停止，未覆盖其改动；已保存 %d 篇。请重新试运行 (article %[1]s was saved by someone else during the import: it stopped there, overwriting nothing, after saving %[2]d; run the dry run again)"
	msgRejected          = "有 %d 行无法导入，未做任何更改；修正后重试，或用 allow_rejected=1 只导入有效行。(%[1]d row(s) rejected, nothing changed: fix them, or import the valid rows with allow_rejected=1)。例如 e.g. %[2]s"

	// noteUnanswered starts the note of a version made from an unanswered
	// question, as kb's ResolveUnanswered notes it.
	noteUnanswered = "未答问题："
)

// statusNames name the statuses in messages.
var statusNames = map[kb.Status]string{
	kb.StatusDraft:     "草稿 draft",
	kb.StatusPublished: "已发布 published",
	kb.StatusArchived:  "已归档 archived",
}
