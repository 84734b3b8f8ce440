// Package checktest holds a test that needs a binary of its own: one in
// which no code is defined besides the framework's (it imports every
// framework package that defines codes), so that the framework's message
// files can be checked for completeness exactly. (The tests of package
// i18n define application codes, as applications do.)
package checktest
