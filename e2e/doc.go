// Package e2e holds the end-to-end test: it builds the kefu binary, runs it
// against the fake WeChat API (wxapi/wxapitest) and drives its webhook with
// driver.js, a Node client that signs and encrypts with the npm package
// wechat-crypto, as the WeChat platform would. See README.md.
package e2e
