package render

import "github.com/adgate/adgate/engine/account"

// Account is the advertiser's context render takes: a prepared,
// immutable value built once by package account.
type Account = account.Account
