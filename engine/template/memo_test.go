package template

import (
	"fmt"
	"strings"
	"testing"
)

// TestPathMemo: a path read several times is looked up once, but binding
// a variable (assign, capture, a loop's item, the loop's end) must make
// every path resolve afresh.
func TestPathMemo(t *testing.T) {
	runCases(t, []execCase{
		{"repeated path", `${user_data.os}${(user_data.os)!}${user_data.os}`, "IOSIOSIOS", ""},
		{"assign shadows the model",
			`${user_data.os}<#assign user_data = {"os": "X"}>${user_data.os}`, "IOSX", ""},
		{"reassign", `<#assign a = {"b": 1}>${a.b}<#assign a = {"b": 2}>${a.b}`, "12", ""},
		{"capture shadows", `${user_data.os}<#assign user_data>t</#assign>${user_data.os}`, "", "user_data is a string"},
		{"loop item", `<@loop data=[{"y": 1}, {"y": 2}, {}] val="x">${(x.y)!"m"},${(x.y)!"m"};</@loop>`, "1,1;2,2;m,m;", ""},
		{"loop end restores", `<#assign x = {"y": "out"}><@loop data=[{"y": "in"}] val="x">${x.y}</@loop>${x.y}`, "inout", ""},
		{"loop end unbinds", `${(x.y)!"none"}<@loop data=[{"y": "in"}] val="x">${x.y}</@loop>${(x.y)!"none"}`, "noneinnone", ""},
		{"nested paths", `${(last_attributed_touch_data.a.b)!"e"}${(last_attributed_touch_data.a.b)!"f"}`, "ef", ""},
		{"path in string literal", `${"[${user_data.os}]"}${user_data.os}`, "[IOS]IOS", ""},
		{"error not kept", `${(nope.x)!"a"}${(nope.x)!"b"}`, "ab", ""},
	})
}

// TestPathMemoAcrossExecutions: a pooled execution state must not carry
// a path's value into the next execution with another data model.
func TestPathMemoAcrossExecutions(t *testing.T) {
	tp, err := Parse("t", `${(a.b)!"-"}`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		root Value
		want string
	}{
		{NewHash([]string{"a"}, []Value{NewHash([]string{"b"}, []Value{String("1")})}), "1"},
		{NewHash([]string{"a"}, []Value{NewHash([]string{"b"}, []Value{String("2")})}), "2"},
		{NewHash(nil, nil), "-"},
	} {
		got, err := tp.ExecuteString(tc.root, nil)
		if err != nil || got != tc.want {
			t.Errorf("got %q, %v; want %q", got, err, tc.want)
		}
	}
}

// TestLookupGuessAcrossExecutions: the key positions an execution
// remembers from the last data model (see compound.lookupAt) are only a
// guess: keys that moved, vanished, became aliases' own keys or went into
// a large indexed hash must still be found as Get finds them.
func TestLookupGuessAcrossExecutions(t *testing.T) {
	tp, err := Parse("t", `${(a.x)!"-"}|${(a.dollar_3p)!"-"}|<@loop data=(a.items)![] val="i">${(i.k)!"-"}</@loop>`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wide strings.Builder
	wide.WriteString(`{"a":{`)
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&wide, `"k%d":%d,`, i, i)
	}
	wide.WriteString(`"x":"wide","$3p":"w"}}`)
	cases := []struct{ json, want string }{
		{`{"a":{"x":"1","$3p":"p1","items":[{"k":"A","z":1},{"z":2,"k":"B"},{"q":1}]}}`, "1|p1|AB-"},
		{`{"z":0,"a":{"items":[{"k":"C"}],"$3p":"p2","x":"2"}}`, "2|p2|C"},
		{`{"a":{"y":"x","dollar_3p":"own","$3p":"p3"}}`, "-|own|"},
		{`{"a":{"$3p":"p4","x":"3"}}`, "3|p4|"},
		{wide.String(), "wide|w|"},
		{`{"a":{"x":"4"}}`, "4|-|"},
		{`{"b":{"x":"5"}}`, "-|-|"},
	}
	for round := 0; round < 2; round++ { // the second round starts from the last case's guesses
		for _, tc := range cases {
			root, err := ParseJSON([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			got, err := tp.ExecuteString(root, nil)
			if err != nil || got != tc.want {
				t.Errorf("%s: got %q, %v; want %q", tc.json, got, err, tc.want)
			}
		}
	}
}
