package template_test

import (
	"fmt"

	"github.com/adgate/adgate/engine/template"
)

// Parse a template once, then execute it against a data model decoded
// from JSON.
func ExampleParse() {
	t, err := template.Parse("url", `https://x.example/p?os=${user_data.os?lower_case}<#if (custom_data.v)??>&v=${custom_data.v?url}</#if>`, template.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	event, err := template.ParseJSON([]byte(`{"user_data": {"os": "IOS"}, "custom_data": {"v": "a b"}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := t.ExecuteString(event, nil)
	fmt.Println(out, err)
	// Output: https://x.example/p?os=ios&v=a%20b <nil>
}

// ParseTree reports every error of a template, each once with its rule
// and position, and still returns the tree; Walk visits it.
func ExampleParseTree() {
	tree, err := template.ParseTree("t", "${a?interpret}<#if b>${c}\n<#include \"x\">")
	if list, ok := err.(template.ErrorList); ok {
		for _, e := range list {
			fmt.Printf("%d:%d %s\n", e.Line, e.Col, e.Rule)
		}
	}
	tree.Walk(func(n template.Node) bool {
		if x, ok := n.(*template.Expr); ok && x.Kind == template.ExprName {
			fmt.Printf("%v reads %s\n", x.Pos(), x.Name)
		}
		return true
	})
	// Output:
	// 1:4 template-blocked
	// 1:15 template-syntax
	// 2:1 template-blocked
	// 1:20 reads b
	// 1:24 reads c
}

// Decode only what a template reads: the selection is built once, from
// the template's paths, and the rest of each document is checked and
// skipped. LookupText reads a path as ${(a.b)!} prints it.
func ExampleParseJSONSelected() {
	sel := template.NewJSONSelection([]string{"name"}, []string{"user_data", "os"})
	doc := []byte(`{"name":"INSTALL","user_data":{"os":"IOS","idfa":"6D92078A"},"content_items":[{"sku":"a"}]}`)
	v, err := template.ParseJSONSelected(doc, sel)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.Keys(), v.Get("user_data").Keys())
	os, ok := v.LookupText("user_data", "os")
	fmt.Printf("%q %v\n", os, ok)
	missing, ok := v.LookupText("user_data", "aaid")
	fmt.Printf("%q %v\n", missing, ok)
	_, ok = v.LookupText("name", "x") // a string is not a hash
	found, depth := v.Lookup("name", "x")
	fmt.Println(ok, found.Kind(), depth)
	// Output:
	// [name user_data] [os]
	// "IOS" true
	// "" true
	// false string 1
}
