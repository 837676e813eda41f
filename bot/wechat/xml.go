package wechat

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrMalformed reports a body that is not a well-formed WeChat XML message
// (or lacks a field every message has). It is wrapped with detail.
var ErrMalformed = errors.New("wechat: malformed XML")

// maxDepth bounds element nesting; WeChat messages nest two or three deep.
const maxDepth = 32

// rawFields holds the text of the WeChat fields found under the root
// element. Values alias the parsed input unless they needed decoding
// (entities, several text sections, CR normalisation). They are not yet
// checked for invalid characters: see checkChars.
type rawFields struct {
	toUserName, fromUserName, createTime, msgType []byte
	msgID, content, recognition, picURL, mediaID  []byte
	url, title, label, locationX, locationY       []byte
	latitude, longitude, event, eventKey          []byte
	encrypt, msgSignature, timeStamp, nonce       []byte
}

// field returns where the value of the root child named local is kept, or
// nil for fields kefu ignores.
func (f *rawFields) field(local []byte) *[]byte {
	switch string(local) {
	case "ToUserName":
		return &f.toUserName
	case "FromUserName":
		return &f.fromUserName
	case "CreateTime":
		return &f.createTime
	case "MsgType":
		return &f.msgType
	case "MsgId":
		return &f.msgID
	case "Content":
		return &f.content
	case "Recognition":
		return &f.recognition
	case "PicUrl":
		return &f.picURL
	case "MediaId":
		return &f.mediaID
	case "Url":
		return &f.url
	case "Title":
		return &f.title
	case "Label":
		return &f.label
	case "Location_X":
		return &f.locationX
	case "Location_Y":
		return &f.locationY
	case "Latitude":
		return &f.latitude
	case "Longitude":
		return &f.longitude
	case "Event":
		return &f.event
	case "EventKey":
		return &f.eventKey
	case "Encrypt":
		return &f.encrypt
	case "MsgSignature":
		return &f.msgSignature
	case "TimeStamp":
		return &f.timeStamp
	case "Nonce":
		return &f.nonce
	}
	return nil
}

// xmlScanner reads the flat XML WeChat sends: a root element whose
// children carry text or CDATA. It is a small, strict subset of XML 1.0
// (no DTD, quoted attributes, the five predefined entities and character
// references) that keeps the direct text of each child of the root, like
// encoding/xml unmarshalling into a struct of strings, at a fraction of the
// cost. Nested elements are checked for well-formedness and skipped.
type xmlScanner struct {
	data []byte
	pos  int
}

// parseFields scans data and fills f. The root element may have any name
// (WeChat always uses <xml>).
func parseFields(data []byte, f *rawFields) error {
	s := xmlScanner{data: data}
	if err := s.misc(); err != nil {
		return err
	}
	if !s.startsWith("<") || s.pos+1 >= len(data) || !isNameStart(data[s.pos+1]) {
		return s.errorf("no root element")
	}
	name, empty, err := s.startTag()
	if err != nil {
		return err
	}
	if !empty {
		if err := s.rootContent(name, f); err != nil {
			return err
		}
	}
	if err := s.misc(); err != nil {
		return err
	}
	if s.pos != len(data) {
		return s.errorf("content after the root element")
	}
	return nil
}

// errorf wraps ErrMalformed with a message and the offset.
func (s *xmlScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", ErrMalformed, fmt.Sprintf(format, args...), s.pos)
}

func (s *xmlScanner) startsWith(p string) bool {
	return len(s.data)-s.pos >= len(p) && string(s.data[s.pos:s.pos+len(p)]) == p
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// Classes of bytes in names, for nameClass.
const (
	nameStart = 1 << iota // may start a name
	nameByte              // may continue a name
)

// nameClass classifies bytes for names: ASCII letters, '_', ':' and any
// non-ASCII byte start a name; digits, '-' and '.' may follow.
var nameClass = func() (t [256]uint8) {
	for i := range t {
		b := byte(i)
		if 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || b == '_' || b == ':' || b >= 0x80 {
			t[i] = nameStart | nameByte
		} else if '0' <= b && b <= '9' || b == '-' || b == '.' {
			t[i] = nameByte
		}
	}
	return t
}()

func isNameStart(b byte) bool { return nameClass[b]&nameStart != 0 }

func isNameByte(b byte) bool { return nameClass[b]&nameByte != 0 }

func (s *xmlScanner) skipSpace() {
	for s.pos < len(s.data) && isSpace(s.data[s.pos]) {
		s.pos++
	}
}

// misc skips white space, comments and processing instructions outside the
// root element.
func (s *xmlScanner) misc() error {
	for {
		s.skipSpace()
		switch {
		case s.startsWith("<!--"):
			if err := s.comment(); err != nil {
				return err
			}
		case s.startsWith("<?"):
			if err := s.procInst(); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// comment skips <!-- … -->.
func (s *xmlScanner) comment() error {
	i := bytes.Index(s.data[s.pos+4:], []byte("-->"))
	if i < 0 {
		return s.errorf("unterminated comment")
	}
	s.pos += 4 + i + 3
	return nil
}

// procInst skips <? … ?>.
func (s *xmlScanner) procInst() error {
	i := bytes.Index(s.data[s.pos+2:], []byte("?>"))
	if i < 0 {
		return s.errorf("unterminated processing instruction")
	}
	s.pos += 2 + i + 2
	return nil
}

// name reads an element or attribute name.
func (s *xmlScanner) name() ([]byte, error) {
	start := s.pos
	if s.pos >= len(s.data) || !isNameStart(s.data[s.pos]) {
		return nil, s.errorf("expected a name")
	}
	for s.pos < len(s.data) && isNameByte(s.data[s.pos]) {
		s.pos++
	}
	return s.data[start:s.pos], nil
}

// localName strips a namespace prefix the way encoding/xml does.
func localName(name []byte) ([]byte, error) {
	i := bytes.IndexByte(name, ':')
	if i < 0 {
		return name, nil
	}
	if bytes.IndexByte(name[i+1:], ':') >= 0 {
		return nil, errors.New("name with several colons")
	}
	if i == 0 || i == len(name)-1 {
		return name, nil
	}
	return name[i+1:], nil
}

// startTag reads <name attr="…"…> or <name …/> at s.pos.
func (s *xmlScanner) startTag() (name []byte, empty bool, err error) {
	s.pos++ // '<'
	if name, err = s.name(); err != nil {
		return nil, false, err
	}
	for {
		sp := s.pos
		s.skipSpace()
		if s.pos >= len(s.data) {
			return nil, false, s.errorf("unterminated start tag")
		}
		switch s.data[s.pos] {
		case '>':
			s.pos++
			return name, false, nil
		case '/':
			if !s.startsWith("/>") {
				return nil, false, s.errorf("stray / in start tag")
			}
			s.pos += 2
			return name, true, nil
		}
		if sp == s.pos {
			return nil, false, s.errorf("expected space before attribute")
		}
		if err := s.attr(); err != nil {
			return nil, false, err
		}
	}
}

// attr skips name="value" (or single quotes); values are not used.
func (s *xmlScanner) attr() error {
	if _, err := s.name(); err != nil {
		return err
	}
	s.skipSpace()
	if !s.startsWith("=") {
		return s.errorf("attribute without value")
	}
	s.pos++
	s.skipSpace()
	if s.pos >= len(s.data) || s.data[s.pos] != '"' && s.data[s.pos] != '\'' {
		return s.errorf("unquoted attribute value")
	}
	q := s.data[s.pos]
	end := bytes.IndexByte(s.data[s.pos+1:], q)
	if end < 0 {
		return s.errorf("unterminated attribute value")
	}
	if bytes.IndexByte(s.data[s.pos+1:s.pos+1+end], '<') >= 0 {
		return s.errorf("< in attribute value")
	}
	s.pos += 1 + end + 1
	return nil
}

// endTag reads </name> at s.pos and checks it closes open.
func (s *xmlScanner) endTag(open []byte) error {
	s.pos += 2 // "</"
	name, err := s.name()
	if err != nil {
		return err
	}
	if !bytes.Equal(name, open) {
		return s.errorf("</%s> closes <%s>", name, open)
	}
	s.skipSpace()
	if !s.startsWith(">") {
		return s.errorf("unterminated end tag")
	}
	s.pos++
	return nil
}

// rootContent reads the children of the root element up to its end tag.
func (s *xmlScanner) rootContent(root []byte, f *rawFields) error {
	var discard textValue
	for {
		if s.pos >= len(s.data) {
			return s.errorf("unterminated <%s>", root)
		}
		switch {
		case s.startsWith("</"):
			return s.endTag(root)
		case s.startsWith("<!--"):
			if err := s.comment(); err != nil {
				return err
			}
		case s.startsWith("<?"):
			if err := s.procInst(); err != nil {
				return err
			}
		case s.startsWith("<![CDATA["), s.data[s.pos] != '<':
			if err := s.text(&discard, false); err != nil {
				return err
			}
		default:
			name, empty, err := s.startTag()
			if err != nil {
				return err
			}
			local, err := localName(name)
			if err != nil {
				return s.errorf("%v", err)
			}
			dst := f.field(local)
			if empty {
				if dst != nil {
					*dst = nil
				}
				continue
			}
			var v textValue
			if err := s.content(name, &v, dst != nil, 1); err != nil {
				return err
			}
			if dst != nil {
				*dst = v.b
			}
		}
	}
}

// textValue accumulates the direct text of an element: the first section
// aliases the input, a second one switches to a private copy.
type textValue struct {
	b     []byte
	owned bool
	any   bool
}

func (v *textValue) add(section []byte, keep bool) {
	if !keep || len(section) == 0 {
		return
	}
	switch {
	case !v.any:
		v.b, v.any = section, true
	case !v.owned:
		v.b = append(append(make([]byte, 0, len(v.b)+len(section)), v.b...), section...)
		v.owned = true
	default:
		v.b = append(v.b, section...)
	}
}

// content reads the content of element name up to its end tag, keeping
// its direct text in v when keep is set.
func (s *xmlScanner) content(name []byte, v *textValue, keep bool, depth int) error {
	if depth > maxDepth {
		return s.errorf("elements nested too deep")
	}
	var discard textValue
	for {
		if s.pos >= len(s.data) {
			return s.errorf("unterminated <%s>", name)
		}
		switch {
		case s.startsWith("</"):
			return s.endTag(name)
		case s.startsWith("<!--"):
			if err := s.comment(); err != nil {
				return err
			}
		case s.startsWith("<?"):
			if err := s.procInst(); err != nil {
				return err
			}
		case s.startsWith("<![CDATA["), s.data[s.pos] != '<':
			if err := s.text(v, keep); err != nil {
				return err
			}
		default:
			child, empty, err := s.startTag()
			if err != nil {
				return err
			}
			if _, err := localName(child); err != nil {
				return s.errorf("%v", err)
			}
			if !empty {
				if err := s.content(child, &discard, false, depth+1); err != nil {
					return err
				}
			}
		}
	}
}

// text reads one CDATA section or one run of character data at s.pos.
func (s *xmlScanner) text(v *textValue, keep bool) error {
	if s.startsWith("<![CDATA[") {
		s.pos += len("<![CDATA[")
		end := bytes.Index(s.data[s.pos:], []byte("]]>"))
		if end < 0 {
			return s.errorf("unterminated CDATA section")
		}
		sec := s.data[s.pos : s.pos+end]
		s.pos += end + 3
		if keep && bytes.IndexByte(sec, '\r') >= 0 {
			sec = normalizeCR(nil, sec)
		}
		v.add(sec, keep)
		return nil
	}
	// One pass to the next '<', noting what needs care.
	start := s.pos
	var amp, cr bool
	i := s.pos
scan:
	for ; i < len(s.data); i++ {
		switch s.data[i] {
		case '<':
			break scan
		case '&':
			amp = true
		case '\r':
			cr = true
		case '>':
			if i-start >= 2 && s.data[i-1] == ']' && s.data[i-2] == ']' {
				return s.errorf("]]> outside CDATA")
			}
		}
	}
	run := s.data[start:i]
	s.pos = i
	if !amp {
		if !keep {
			return nil
		}
		if cr {
			run = normalizeCR(nil, run)
		}
		v.add(run, keep)
		return nil
	}
	dec, err := decodeEntities(run)
	if err != nil {
		s.pos = start
		return s.errorf("%v", err)
	}
	v.add(dec, keep)
	return nil
}

// normalizeCR appends src to dst with \r\n and lone \r turned into \n, as
// XML requires.
func normalizeCR(dst, src []byte) []byte {
	for i := 0; i < len(src); i++ {
		b := src[i]
		if b == '\r' {
			dst = append(dst, '\n')
			if i+1 < len(src) && src[i+1] == '\n' {
				i++
			}
			continue
		}
		dst = append(dst, b)
	}
	return dst
}

// decodeEntities expands the predefined entities and character references
// of a run of character data (and normalises line ends).
func decodeEntities(run []byte) ([]byte, error) {
	out := make([]byte, 0, len(run))
	for len(run) > 0 {
		i := bytes.IndexByte(run, '&')
		if i < 0 {
			return normalizeCR(out, run), nil
		}
		out = normalizeCR(out, run[:i])
		run = run[i+1:]
		semi := bytes.IndexByte(run, ';')
		if semi < 0 {
			return nil, errors.New("entity without semicolon")
		}
		ent := run[:semi]
		run = run[semi+1:]
		switch string(ent) {
		case "lt":
			out = append(out, '<')
		case "gt":
			out = append(out, '>')
		case "amp":
			out = append(out, '&')
		case "apos":
			out = append(out, '\'')
		case "quot":
			out = append(out, '"')
		default:
			r, ok := charRef(ent)
			if !ok {
				return nil, fmt.Errorf("invalid entity &%s;", ent)
			}
			out = utf8.AppendRune(out, r)
		}
	}
	return out, nil
}

// charRef decodes the body of &#NN; or &#xHH;.
func charRef(ent []byte) (rune, bool) {
	if len(ent) < 2 || ent[0] != '#' {
		return 0, false
	}
	digits, base := ent[1:], 10
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 {
		return 0, false
	}
	for _, c := range digits {
		if !('0' <= c && c <= '9' || base == 16 && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F')) {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(string(digits), base, 32)
	if err != nil || n > utf8.MaxRune {
		return 0, false
	}
	return rune(n), true
}

// checkChars rejects invalid UTF-8 and characters outside the XML 1.0
// character range, like encoding/xml.
func checkChars(b []byte) error {
	for i := 0; i < len(b); {
		c := b[i]
		if c >= 0x20 && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return fmt.Errorf("illegal character %U", rune(c))
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return errors.New("invalid UTF-8")
		}
		if !isXMLChar(r) {
			return fmt.Errorf("illegal character %U", r)
		}
		i += size
	}
	return nil
}

// isXMLChar reports whether r is in the XML 1.0 Char production.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// appendCDATA appends s as CDATA: invalid UTF-8 becomes U+FFFD, characters
// XML forbids are dropped, and "]]>" is split across two sections.
func appendCDATA(dst []byte, s string) []byte {
	if !isXMLText(s) {
		s = sanitizeXML(s) // rare; done first so dropping cannot form "]]>"
	}
	dst = append(dst, "<![CDATA["...)
	for {
		i := strings.Index(s, "]]>")
		if i < 0 {
			break
		}
		dst = append(dst, s[:i+2]...)
		dst = append(dst, "]]><![CDATA["...)
		s = s[i+2:]
	}
	dst = append(dst, s...)
	return append(dst, "]]>"...)
}

// isXMLText reports whether s is valid UTF-8 made only of XML characters.
func isXMLText(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf || c == '\t' || c == '\n' || c == '\r' {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || !isXMLChar(r) {
			return false
		}
		i += size
	}
	return true
}

// sanitizeXML replaces invalid UTF-8 with U+FFFD and drops characters
// outside the XML character range.
func sanitizeXML(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s { // invalid UTF-8 comes as U+FFFD
		if isXMLChar(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
