package queue

import (
	"regexp"
	"strconv"
	"strings"
)

// Error classes say, in one word an operator can filter on, why a delivery
// failed. The sender sets the class where it decides (Outcome.Class);
// ErrorClass infers it for records that carry none (dead letters written
// before classes existed, reasons the queue itself gives).
//
// A failure that was retried until the budget ran out keeps the class of
// its cause (5xx, network, timeout...): replaying "every 5xx of partner X
// after their outage" must find those. budget_exhausted is for postbacks
// that ran out of time without a failing answer: waiting on an open
// circuit breaker (or paused), or delivered too often without an outcome.
const (
	Class4xx             = "4xx"              // the partner answered 4xx (or a 1xx/3xx) and it is not retried
	Class5xx             = "5xx"              // the partner answered 5xx (also 408 and 429 retried to exhaustion: see ErrorClass)
	ClassBody            = "body"             // a success status whose body says failure (success_body / failure_body)
	ClassNetwork         = "network"          // no HTTP answer: connection refused, reset, DNS
	ClassTimeout         = "timeout"          // no HTTP answer within the policy's timeout
	ClassRefusedHost     = "refused_host"     // host not allowed, or a private address
	ClassWindowClosed    = "window_closed"    // the postback window closed before it was sent
	ClassBudgetExhausted = "budget_exhausted" // ran out of time or deliveries with no failing answer
	ClassRender          = "render"           // the rendered request cannot be sent (invalid URL, header, method)
	ClassDisabled        = "disabled"         // the partner is no longer enabled for the app
	ClassOther           = "other"            // anything else (an undecodable job)
)

// ErrorClasses lists every class, in the order documentation shows them.
func ErrorClasses() []string {
	return []string{Class4xx, Class5xx, ClassBody, ClassNetwork, ClassTimeout, ClassRefusedHost,
		ClassWindowClosed, ClassBudgetExhausted, ClassRender, ClassDisabled, ClassOther}
}

// ValidErrorClass reports whether c is one of ErrorClasses.
func ValidErrorClass(c string) bool {
	switch c {
	case Class4xx, Class5xx, ClassBody, ClassNetwork, ClassTimeout, ClassRefusedHost,
		ClassWindowClosed, ClassBudgetExhausted, ClassRender, ClassDisabled, ClassOther:
		return true
	}
	return false
}

// StatusClass is the class of an HTTP answer that failed: 4xx or 5xx by
// its code, 4xx for any other refusal (1xx, 3xx: not retried either).
func StatusClass(code int) string {
	if code >= 500 {
		return Class5xx
	}
	return Class4xx
}

// lastStatus finds the last "HTTP nnn" in a reason: the answer that made
// the final verdict ("retry budget exhausted after 3 attempts: HTTP 503").
var lastStatus = regexp.MustCompile(`HTTP ([1-5][0-9][0-9])`)

// ErrorClass classifies a failed outcome from what a record keeps: the
// class the sender gave (class, when not empty, wins), else the status
// code of the last answer, else the reason's wording. It is the one
// place that decides a class; the dead-letter list, the replay filter,
// metrics and the delivery history all go through it.
func ErrorClass(class string, statusCode int, reason string) string {
	if ValidErrorClass(class) {
		return class
	}
	body := strings.Contains(reason, "success pattern") || strings.Contains(reason, "failure pattern")
	switch {
	case body:
		return ClassBody
	case statusCode >= 200 && statusCode < 300:
		// A success status that failed anyway: only the body does that.
		return ClassBody
	case statusCode > 0:
		return StatusClass(statusCode)
	}
	r := strings.ToLower(reason)
	switch {
	case strings.Contains(r, "outside postback window"):
		return ClassWindowClosed
	case strings.Contains(r, "is not allowed for partner"), strings.HasPrefix(r, "refused:"), strings.Contains(r, "is not a valid host name"):
		return ClassRefusedHost
	case strings.Contains(r, "undecodable job"):
		return ClassOther
	case strings.Contains(r, "invalid postback url"), strings.Contains(r, "invalid header"), strings.Contains(r, "invalid request"):
		return ClassRender
	case strings.Contains(r, "is not enabled for app"):
		return ClassDisabled
	}
	if m := lastStatus.FindAllStringSubmatch(reason, -1); len(m) > 0 {
		code, _ := strconv.Atoi(m[len(m)-1][1])
		return StatusClass(code)
	}
	switch {
	case strings.Contains(r, "timeout"), strings.Contains(r, "deadline exceeded"):
		return ClassTimeout
	case strings.Contains(r, "circuit breaker"), strings.Contains(r, "paused"), strings.Contains(r, "without an outcome"):
		return ClassBudgetExhausted
	case strings.Contains(r, "connection"), strings.Contains(r, "no such host"), strings.Contains(r, "dial "), strings.Contains(r, "eof"), strings.Contains(r, "tls"):
		return ClassNetwork
	}
	return ClassOther
}
