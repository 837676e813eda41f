package casesweb

// Assets are the embedded files, for the tests of package casesweb_test.
var Assets = assets
