package casesapi

// The messages of this package that people read: Chinese first, then
// English.
const (
	msgSignIn      = "请先登录 (sign in first)"
	msgNotFound    = "没有这个案件编号 (no case has this number)"
	msgBadStatus   = "status 须为 submitted、processing、resolved 或 rejected (status must be submitted, processing, resolved or rejected)"
	msgInvalid     = "请求缺少必填项 (a required field is missing)"
	msgBadLimit    = "limit 须为 1 到 1000 的整数 (limit must be a whole number from 1 to 1000)"
	msgNoteTooLong = "备注不能超过 2000 个字 (the note is over 2,000 characters)"
	msgBusy        = "案件正被他人同时修改，请刷新后重试 (the case is being changed by others at the same time: reload and retry)"
)
