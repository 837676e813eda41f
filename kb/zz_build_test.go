package kb

import (
	"os"
	"testing"
)

func TestZZBuild(t *testing.T) {
	if os.Getenv("BUILD") == "" {
		t.Skip()
	}
	NewIndex(synthKB(3000, 1))
}
