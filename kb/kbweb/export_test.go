package kbweb

// Assets are the embedded files, for the tests of package kbweb_test.
var Assets = assets
