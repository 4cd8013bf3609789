package spec

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Delivery is a partner's delivery policy, as its documentation states it:
// AppsFlyer retries 5xx only (a 4xx is dead at once); some partners answer
// 200 with an error in the body.
type Delivery struct {
	// SuccessStatus lists the status codes that mean delivered; empty
	// means any 2xx.
	SuccessStatus []int `yaml:"success_status,omitempty" json:"success_status,omitempty"`
	// SuccessBody, when set, is a regular expression a success answer's
	// body must match; FailureBody one that makes a success answer a
	// failure. Such a failure is retried.
	SuccessBody string `yaml:"success_body,omitempty" json:"success_body,omitempty"`
	FailureBody string `yaml:"failure_body,omitempty" json:"failure_body,omitempty"`
	// RetryStatus lists the failing answers worth retrying: codes (429) and
	// classes ("5xx"); every other failing answer is dead at once. Empty:
	// 408, 429 and 5xx.
	RetryStatus []string `yaml:"retry_status,omitempty" json:"retry_status,omitempty"`
	// RetryNetworkErrors false dead-letters a request that got no answer
	// (a network error, a timeout) at once; unset or true retries it.
	RetryNetworkErrors *bool `yaml:"retry_network_errors,omitempty" json:"retry_network_errors,omitempty"`
}

// MaxPatternLen bounds a success_body or failure_body pattern. Go's
// regular expressions run in linear time, but a spec (or config) comes
// from outside and a huge pattern still costs memory and time per answer.
const MaxPatternLen = 1024

// CompilePattern compiles a success_body or failure_body pattern, refusing
// one longer than MaxPatternLen.
func CompilePattern(p string) (*regexp.Regexp, error) {
	if len(p) > MaxPatternLen {
		return nil, fmt.Errorf("pattern is %d bytes long, at most %d", len(p), MaxPatternLen)
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("not a valid regular expression: %w", err)
	}
	return re, nil
}

// ParseStatusList reads a retry_status list: status codes (100-599) and
// classes "1xx" to "5xx". classes holds hundreds: 5 for 5xx.
func ParseStatusList(entries []string) (codes, classes []int, err error) {
	for i, e := range entries {
		code, class, perr := ParseStatus(e)
		if perr != nil {
			return nil, nil, fmt.Errorf("entry %d: %w", i+1, perr)
		}
		if class > 0 {
			classes = append(classes, class)
		} else {
			codes = append(codes, code)
		}
	}
	return codes, classes, nil
}

// ParseStatus reads one retry_status entry: a code, or a class (class
// holds its hundreds, code is then 0).
func ParseStatus(e string) (code, class int, err error) {
	e = strings.TrimSpace(e)
	if len(e) == 3 && strings.EqualFold(e[1:], "xx") && e[0] >= '1' && e[0] <= '5' {
		return 0, int(e[0] - '0'), nil
	}
	n, err := strconv.Atoi(e)
	if err != nil || n < 100 || n > 599 {
		return 0, 0, fmt.Errorf("%q is neither a status code (100-599) nor a class (1xx-5xx)", e)
	}
	return n, 0, nil
}
