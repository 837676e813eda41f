// Package wechat is kefu's WeChat Official Account (公众号) webhook: the Gin
// handler WeChat calls for URL verification and for every user message or
// event, in plaintext, compatible and safe (AES) mode.
//
// It owns the protocol instead of using silenceper/wechat's server: a
// deadline on the responder, a fresh random for every encrypted reply,
// "success" (never an encrypted empty message) when there is nothing to
// say, key rotation (current and previous EncodingAESKey), bounded bodies,
// and slog logging that keeps message bodies and OpenIDs out of info logs.
//
// The pieces are usable on their own: Signature and MsgSignature, Cipher
// for the AES envelope, ParseMessage and ParseEnvelope for inbound XML,
// TextReply and SealReply for passive replies. The load generator
// (cmd/kefu-loadtest) uses them to play the platform.
package wechat
