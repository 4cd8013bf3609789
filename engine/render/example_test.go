package render_test

import (
	"context"
	"fmt"
	"log"

	"github.com/adgate/adgate/engine/account"
	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/render"
	"github.com/adgate/adgate/engine/spec"
)

// Render CleverTap's postback for a purchase: load and validate the spec,
// compile it once, then render each event with the advertiser's account.
func Example() {
	ctx := context.Background()
	loader, err := spec.NewLoader()
	if err != nil {
		log.Fatal(err)
	}
	p, findings, err := loader.LoadFile(ctx, "../../partners/clevertap.yaml")
	if err != nil {
		log.Fatalf("%v\n%v", err, findings)
	}
	partner, err := render.Compile(p, loader.Catalog())
	if err != nil {
		log.Fatal(err)
	}

	ev, err := event.Parse([]byte(`{
		"name": "PURCHASE",
		"timestamp": 1700000000000,
		"user_data": {"os": "ANDROID", "os_version": "14", "aaid": "4cb8a0b6-8f2e-4b2a-9d3c-0f8e7a1c2d3e"},
		"custom_data": {"identity": "user+42@example.com"},
		"last_attributed_touch_data": {"utm_campaign": "Spring Sale"}
	}`))
	if err != nil {
		log.Fatal(err)
	}
	acct := account.New(account.Data{Credentials: map[string]string{
		"account_id":       "TEST-R44-4Z5Z",
		"account_token":    "Zm9v+YmFy/YmF6==",
		"account_passcode": "open sesame",
	}})

	res, err := partner.Render(ev, acct, render.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, req := range res.Requests {
		fmt.Println(req.Postback, req.Method, req.URL)
	}
	for _, skip := range res.Skipped {
		fmt.Println(skip.Postback, "skipped:", skip.Reason)
	}
	// Output:
	// PURCHASE GET https://api.clevertap.com/branch?account_id=TEST-R44-4Z5Z&account_token=Zm9v%2BYmFy%2FYmF6%3D%3D&account_passcode=open%20sesame&event=PURCHASE&event_timestamp=1700000000&identity=user%2B42%40example.com&os=ANDROID&os_version=14&ip=&utm_campaign=Spring%20Sale&utm_source=&utm_medium=&reinstall=&google_advertising_id=4cb8a0b6-8f2e-4b2a-9d3c-0f8e7a1c2d3e&idfa=
}
