package conformance

import "testing"

func TestForOracle(t *testing.T) {
	tests := []struct{ in, want string }{
		{`${a.~b}`, `${a["~b"]}`},
		{`${(a.+b)!}`, `${(a["+b"])!}`},
		{`<#if a.~b == "x.~y">t.~u</#if>`, `<#if a["~b"] == "x.~y">t.~u</#if>`},
		{`<@jsonmap data="a.~b"/>`, `<@jsonmap data="a.~b"/>`},
		{`text a.~b ${x.$3p}`, `text a.~b ${x.$3p}`},
		{`<#-- ${a.~b} -->${c.~d}`, `<#-- ${a.~b} -->${c["~d"]}`},
	}
	for _, tc := range tests {
		if got := forOracle(tc.in); got != tc.want {
			t.Errorf("forOracle(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
