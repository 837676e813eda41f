package wechat

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// Errors returned by Cipher. They are wrapped with context; test with
// errors.Is.
var (
	// ErrBadKey reports an EncodingAESKey that is not 43 characters of
	// Base64 decoding to 32 bytes.
	ErrBadKey = errors.New("wechat: invalid EncodingAESKey")
	// ErrBadBase64 reports an Encrypt text that is not valid Base64.
	ErrBadBase64 = errors.New("wechat: encrypt is not valid base64")
	// ErrBadBlockSize reports a ciphertext that is empty or not a multiple
	// of the AES block size.
	ErrBadBlockSize = errors.New("wechat: ciphertext is not a whole number of AES blocks")
	// ErrBadPadding reports a decrypted text whose PKCS#7 padding (1..32
	// bytes) is invalid: usually the wrong key.
	ErrBadPadding = errors.New("wechat: bad PKCS#7 padding")
	// ErrBadLength reports a decrypted text too short for its header or
	// whose msg_len runs past its end.
	ErrBadLength = errors.New("wechat: message length out of bounds")
	// ErrAppIDMismatch reports a message that decrypted correctly but was
	// meant for another AppID.
	ErrAppIDMismatch = errors.New("wechat: appid mismatch")
	// ErrKeyIndex reports a key index that names no configured key.
	ErrKeyIndex = errors.New("wechat: key index out of range")
)

const (
	// encodingAESKeyLen is the length of an EncodingAESKey in characters.
	encodingAESKeyLen = 43
	// padBlock is the PKCS#7 block size WeChat pads to (not AES's 16).
	padBlock = 32
	// randomLen is the length of the random prefix of every plaintext.
	randomLen = 16
	// headerLen is random plus the big-endian msg_len.
	headerLen = randomLen + 4
	// sigHexLen is the length of a hex SHA-1 signature.
	sigHexLen = 2 * sha1.Size
)

// Signature returns the plain WeChat signature: the lower-case hex SHA-1 of
// token, timestamp and nonce sorted in byte order and joined. It signs the
// URL verification GET and every POST in plaintext mode.
func Signature(token, timestamp, nonce string) string {
	sum := sortedSHA1Hex(token, timestamp, nonce, "", 3)
	return string(sum[:])
}

// MsgSignature returns the safe-mode signature: the lower-case hex SHA-1 of
// token, timestamp, nonce and the Encrypt text sorted in byte order and
// joined.
func MsgSignature(token, timestamp, nonce, encrypt string) string {
	sum := sortedSHA1Hex(token, timestamp, nonce, encrypt, 4)
	return string(sum[:])
}

// CheckSignature reports, in constant time, whether sig is the plain
// signature of token, timestamp and nonce.
func CheckSignature(sig, token, timestamp, nonce string) bool {
	sum := sortedSHA1Hex(token, timestamp, nonce, "", 3)
	return equalHex(&sum, sig)
}

// CheckMsgSignature reports, in constant time, whether sig is the safe-mode
// signature of token, timestamp, nonce and encrypt.
func CheckMsgSignature(sig, token, timestamp, nonce, encrypt string) bool {
	sum := sortedSHA1Hex(token, timestamp, nonce, encrypt, 4)
	return equalHex(&sum, sig)
}

// sortedSHA1Hex hashes the first n of (a, b, c, d) in sorted order and
// returns the lower-case hex digest. It allocates nothing for short inputs.
func sortedSHA1Hex(a, b, c, d string, n int) [sigHexLen]byte {
	parts := [4]string{a, b, c, d}
	p := parts[:n]
	// Insertion sort: at most four strings.
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j] < p[j-1]; j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
	var stack [1024]byte
	buf := stack[:0]
	for _, s := range p {
		buf = append(buf, s...)
	}
	sum := sha1.Sum(buf)
	var out [sigHexLen]byte
	hex.Encode(out[:], sum[:])
	return out
}

// msgSignatureBytes is MsgSignature for an Encrypt text held as bytes.
func msgSignatureBytes(token, timestamp, nonce string, encrypt []byte) [sigHexLen]byte {
	parts := [3]string{token, timestamp, nonce}
	for i := 1; i < len(parts); i++ {
		for j := i; j > 0 && parts[j] < parts[j-1]; j-- {
			parts[j], parts[j-1] = parts[j-1], parts[j]
		}
	}
	var stack [1024]byte
	buf := stack[:0]
	placed := false
	for _, s := range parts {
		if !placed && string(encrypt) < s {
			buf = append(buf, encrypt...)
			placed = true
		}
		buf = append(buf, s...)
	}
	if !placed {
		buf = append(buf, encrypt...)
	}
	sum := sha1.Sum(buf)
	var out [sigHexLen]byte
	hex.Encode(out[:], sum[:])
	return out
}

// equalHex compares a computed hex digest with a received one in constant
// time (for a given length).
func equalHex(want *[sigHexLen]byte, got string) bool {
	if len(got) != sigHexLen {
		return false
	}
	var v byte
	for i := range want {
		v |= want[i] ^ got[i]
	}
	return v == 0
}

// aesKey is one decoded EncodingAESKey with its expanded block cipher.
type aesKey struct {
	block cipher.Block
	iv    [aes.BlockSize]byte // the first 16 bytes of the key
}

// Cipher encrypts and decrypts WeChat safe-mode messages for one AppID. It
// holds the current EncodingAESKey and, during a rotation, the previous
// ones. A Cipher is safe for concurrent use.
type Cipher struct {
	keys  []aesKey
	appID string
}

// NewCipher returns a Cipher for appID. encodingAESKeys lists the 43-character
// EncodingAESKeys to accept, current first, then the previous one(s) while a
// rotation is in progress. Keys are never included in errors.
func NewCipher(encodingAESKeys []string, appID string) (*Cipher, error) {
	if len(encodingAESKeys) == 0 {
		return nil, fmt.Errorf("%w: no key given", ErrBadKey)
	}
	if appID == "" {
		return nil, errors.New("wechat: AppID is required for safe mode")
	}
	c := &Cipher{keys: make([]aesKey, len(encodingAESKeys)), appID: appID}
	for i, k := range encodingAESKeys {
		if len(k) != encodingAESKeyLen {
			return nil, fmt.Errorf("%w: key #%d has %d characters, want %d", ErrBadKey, i+1, len(k), encodingAESKeyLen)
		}
		raw, err := base64.StdEncoding.DecodeString(k + "=")
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("%w: key #%d is not Base64 of 32 bytes", ErrBadKey, i+1)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: key #%d: %v", ErrBadKey, i+1, err)
		}
		c.keys[i].block = block
		copy(c.keys[i].iv[:], raw[:aes.BlockSize])
	}
	return c, nil
}

// AppID returns the AppID the Cipher seals messages for and accepts.
func (c *Cipher) AppID() string { return c.appID }

// Keys returns the number of configured keys.
func (c *Cipher) Keys() int { return len(c.keys) }

// Decrypt decodes and decrypts a Base64 Encrypt text and returns the
// message it carries with the index of the key that decrypted it (0 is the
// current key). It tries the keys in order. msg is a fresh slice owned by
// the caller. The errors are ErrBadBase64, ErrBadBlockSize, ErrBadPadding,
// ErrBadLength and ErrAppIDMismatch; when no key works the error is the one
// of the key that got furthest.
func (c *Cipher) Decrypt(b64 string) (msg []byte, keyIndex int, err error) {
	return c.decrypt([]byte(b64))
}

// decrypt is Decrypt for an Encrypt text held as bytes.
func (c *Cipher) decrypt(b64 []byte) (msg []byte, keyIndex int, err error) {
	n := base64.StdEncoding.DecodedLen(len(b64))
	var buf []byte
	if len(c.keys) > 1 {
		// The ciphertext must survive a failed attempt: decrypt into a
		// second half.
		buf = make([]byte, 2*n)
	} else {
		buf = make([]byte, n)
	}
	m, err := base64.StdEncoding.Decode(buf[:n], b64)
	if err != nil {
		return nil, 0, ErrBadBase64
	}
	ct := buf[:m:m]
	if m == 0 || m%aes.BlockSize != 0 {
		return nil, 0, ErrBadBlockSize
	}
	var firstErr error
	bestRank := -1
	for i := range c.keys {
		plain := ct
		if len(c.keys) > 1 {
			plain = buf[n : n+m : n+m]
		}
		msg, err := c.open(&c.keys[i], plain, ct)
		if err == nil {
			return msg, i, nil
		}
		if r := errRank(err); r > bestRank {
			bestRank, firstErr = r, err
		}
	}
	return nil, 0, firstErr
}

// errRank orders decryption failures by how far the attempt got.
func errRank(err error) int {
	switch err {
	case ErrAppIDMismatch:
		return 2
	case ErrBadLength:
		return 1
	default:
		return 0
	}
}

// open decrypts ct into dst (which may alias ct) with k and checks the
// padding, the length header and the AppID.
func (c *Cipher) open(k *aesKey, dst, ct []byte) ([]byte, error) {
	cipher.NewCBCDecrypter(k.block, k.iv[:]).CryptBlocks(dst, ct)
	pad := int(dst[len(dst)-1])
	if pad < 1 || pad > padBlock || pad > len(dst) {
		return nil, ErrBadPadding
	}
	for _, b := range dst[len(dst)-pad:] {
		if int(b) != pad {
			return nil, ErrBadPadding
		}
	}
	plain := dst[:len(dst)-pad]
	if len(plain) < headerLen {
		return nil, ErrBadLength
	}
	msgLen := binary.BigEndian.Uint32(plain[randomLen:headerLen])
	if uint64(msgLen) > uint64(len(plain)-headerLen) {
		return nil, ErrBadLength
	}
	end := headerLen + int(msgLen)
	if string(plain[end:]) != c.appID {
		return nil, ErrAppIDMismatch
	}
	return plain[headerLen:end:end], nil
}

// Encrypt seals msg with key keyIndex (0 is the current key) and a fresh
// random prefix, and returns the Base64 Encrypt text.
func (c *Cipher) Encrypt(msg []byte, keyIndex int) (string, error) {
	var random [randomLen]byte
	randomFill(&random)
	out, err := c.appendEncrypt(nil, msg, keyIndex, &random)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// randomFill fills r from crypto/rand, which never fails.
func randomFill(r *[randomLen]byte) {
	_, _ = rand.Read(r[:])
}

// encryptWithRandom is Encrypt with a chosen random prefix, for the
// official test vectors.
func (c *Cipher) encryptWithRandom(msg []byte, keyIndex int, random [randomLen]byte) (string, error) {
	out, err := c.appendEncrypt(nil, msg, keyIndex, &random)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// encryptedLen returns the length of the Base64 Encrypt text for a message
// of msgLen bytes.
func (c *Cipher) encryptedLen(msgLen int) int {
	return base64.StdEncoding.EncodedLen(paddedLen(headerLen + msgLen + len(c.appID)))
}

// paddedLen rounds n up to the next multiple of padBlock, always adding at
// least one byte.
func paddedLen(n int) int { return n + padBlock - n%padBlock }

// appendEncrypt appends the Base64 Encrypt text of msg to dst. It builds
// the plaintext in dst's spare capacity, past the room the Base64 needs, so
// a caller that pre-grows dst gets no allocation here beyond the CBC mode.
func (c *Cipher) appendEncrypt(dst, msg []byte, keyIndex int, random *[randomLen]byte) ([]byte, error) {
	if keyIndex < 0 || keyIndex >= len(c.keys) {
		return dst, ErrKeyIndex
	}
	if uint64(len(msg)) > 1<<31 {
		return dst, fmt.Errorf("wechat: message too long to encrypt: %d bytes", len(msg))
	}
	total := paddedLen(headerLen + len(msg) + len(c.appID))
	encLen := base64.StdEncoding.EncodedLen(total)
	start := len(dst)
	if cap(dst)-start < encLen+total {
		grown := make([]byte, start, start+encLen+total)
		copy(grown, dst)
		dst = grown
	}
	work := dst[start : start+encLen+total]
	plain := work[encLen:]
	copy(plain, random[:])
	binary.BigEndian.PutUint32(plain[randomLen:headerLen], uint32(len(msg)))
	n := headerLen + copy(plain[headerLen:], msg)
	n += copy(plain[n:], c.appID)
	pad := byte(total - n)
	for i := n; i < total; i++ {
		plain[i] = pad
	}
	k := &c.keys[keyIndex]
	cipher.NewCBCEncrypter(k.block, k.iv[:]).CryptBlocks(plain, plain)
	base64.StdEncoding.Encode(work[:encLen], plain)
	return dst[:start+encLen], nil
}
