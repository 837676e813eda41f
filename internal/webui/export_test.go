package webui

// Assets are the embedded files, for the tests of package webui_test.
var Assets = assets
