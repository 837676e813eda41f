package semantic

import (
	"bufio"
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
)

// key identifies a text in a vector space: the SHA-256 of the space's name,
// a NUL and the text.
type key [sha256.Size]byte

func keyOf(space, text string) key {
	h := sha256.New()
	h.Write([]byte(space))
	h.Write([]byte{0})
	h.Write([]byte(text))
	var k key
	h.Sum(k[:0])
	return k
}

// entry is one cached vector.
type entry struct {
	k key
	v []float32
}

// cache maps keys to vectors, keeping at most limit of them and evicting
// the least recently used first. It is safe for concurrent use.
type cache struct {
	mu    sync.Mutex
	size  int // the configured bound
	limit int // size, or more while a larger knowledge base is in use
	ll    list.List
	m     map[key]*list.Element
}

func newCache(size int) *cache {
	return &cache{size: size, limit: size, m: make(map[key]*list.Element)}
}

// get returns the vector of k and marks it used.
func (c *cache) get(k key) ([]float32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(e)
	return e.Value.(entry).v, true
}

// put stores v as the vector of k and marks it used.
func (c *cache) put(k key, v []float32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		e.Value = entry{k, v}
		c.ll.MoveToFront(e)
		return
	}
	c.m[k] = c.ll.PushFront(entry{k, v})
	for c.ll.Len() > c.limit {
		last := c.ll.Back()
		delete(c.m, last.Value.(entry).k)
		c.ll.Remove(last)
	}
}

// reserve makes room for n vectors in use, beyond the configured size if
// need be: the vectors of the published knowledge base are never evicted.
func (c *cache) reserve(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limit = max(c.size, n)
}

// entries returns the cached vectors, least recently used first.
func (c *cache) entries() []entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]entry, 0, c.ll.Len())
	for e := c.ll.Back(); e != nil; e = e.Prev() {
		out = append(out, e.Value.(entry))
	}
	return out
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// The cache file holds fileMagic, then records appended as texts are
// embedded: the key, the vector's length as a little-endian uint32, and
// its float32s, little endian. A later record of a key wins. A torn last
// record (a crash while appending) is dropped.
const fileMagic = "kefu-embeddings 1\n"

// maxFileDim bounds the vector length a record may claim.
const maxFileDim = 1 << 16

// vectorFile persists a cache. Its methods are not safe for concurrent use.
type vectorFile struct {
	path    string
	records int // records in the file
}

// load reads the file into c, oldest record first. A missing file is
// empty (its directory is created). When the file holds many more records than c kept, or ends in a
// torn record, it is rewritten.
func (f *vectorFile) load(c *cache) error {
	fh, err := os.Open(f.path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
			return fmt.Errorf("semantic: cache file: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("semantic: cache file: %w", err)
	}
	defer fh.Close()
	r := bufio.NewReader(fh)
	magic := make([]byte, len(fileMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != fileMagic {
		return fmt.Errorf("semantic: cache file %s: not a vector cache", f.path)
	}
	torn := false
	for {
		var k key
		var n uint32
		if _, err := io.ReadFull(r, k[:]); err != nil {
			torn = err != io.EOF
			break
		}
		if err := binary.Read(r, binary.LittleEndian, &n); err != nil || n == 0 || n > maxFileDim {
			torn = true
			break
		}
		v := make([]float32, n)
		if err := binary.Read(r, binary.LittleEndian, v); err != nil {
			torn = true
			break
		}
		c.put(k, v)
		f.records++
	}
	if torn || f.records > 2*c.len() {
		return f.rewrite(c.entries())
	}
	return nil
}

// add appends entries to the file, creating it if need be, and rewrites
// it from c once it holds more than twice as many records as c.
func (f *vectorFile) add(entries []entry, c *cache) error {
	if f.records+len(entries) > 2*max(c.len(), 1) {
		return f.rewrite(c.entries())
	}
	fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("semantic: cache file: %w", err)
	}
	w := bufio.NewWriter(fh)
	if st, err := fh.Stat(); err == nil && st.Size() == 0 {
		w.WriteString(fileMagic)
	}
	writeRecords(w, entries)
	err = w.Flush()
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("semantic: cache file: %w", err)
	}
	f.records += len(entries)
	return nil
}

// rewrite replaces the file with entries, atomically.
func (f *vectorFile) rewrite(entries []entry) error {
	tmp, err := os.CreateTemp(filepath.Dir(f.path), filepath.Base(f.path)+".*")
	if err != nil {
		return fmt.Errorf("semantic: cache file: %w", err)
	}
	w := bufio.NewWriter(tmp)
	w.WriteString(fileMagic)
	writeRecords(w, entries)
	err = w.Flush()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("semantic: cache file: %w", err)
	}
	f.records = len(entries)
	return nil
}

// writeRecords writes entries in the file's record format; errors surface
// at w.Flush.
func writeRecords(w *bufio.Writer, entries []entry) {
	var buf [4]byte
	for _, e := range entries {
		w.Write(e.k[:])
		binary.LittleEndian.PutUint32(buf[:], uint32(len(e.v)))
		w.Write(buf[:])
		for _, x := range e.v {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(x))
			w.Write(buf[:])
		}
	}
}
