// Package firsthour holds one test: a new user's first hour, scripted. It
// copies the repository's tracked files as a clone would have them, runs
// `make demo` there, and every command the README's "Try it" and the
// demo's own printout give, exactly as printed, checking each answer.
package firsthour
