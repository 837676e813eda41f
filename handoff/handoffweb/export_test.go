package handoffweb

// Assets are the embedded files, for the tests of package handoffweb_test.
var Assets = assets
