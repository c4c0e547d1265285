// Package examples holds deployment examples; its tests check them.
package examples
