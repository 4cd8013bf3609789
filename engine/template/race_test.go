package template

import (
	"os"
	"sync"
	"testing"
)

// TestConcurrentExecute runs one compiled template from many goroutines;
// run with -race. Every execution must produce the same output.
func TestConcurrentExecute(t *testing.T) {
	for _, name := range []string{"directives", "list"} {
		t.Run(name, func(t *testing.T) { concurrentExecute(t, name) })
	}
}

func concurrentExecute(t *testing.T, name string) {
	root := loadEvent(t)
	src, err := os.ReadFile("testdata/golden/" + name + ".ftl")
	if err != nil {
		t.Fatal(err)
	}
	tp, err := Parse(name, string(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := tp.ExecuteString(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				got, err := tp.ExecuteString(root, nil)
				if err != nil || got != want {
					errs <- "concurrent execution diverged"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}
