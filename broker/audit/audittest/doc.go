// Package audittest helps test code that writes or reads audit logs: a
// typical record, a log opened for a test and closed after it, and small
// file helpers. It is for tests only.
package audittest
