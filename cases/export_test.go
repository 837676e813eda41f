package cases

import "io"

// SetRand makes s draw case numbers from r, for the tests of package
// cases_test.
func SetRand(s *Service, r io.Reader) { s.rand = r }
