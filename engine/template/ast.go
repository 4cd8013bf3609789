package template

// position is a 1-based line and column (in code points) in the template
// text, and the byte offset there (Off; zero in the last-character
// positions the whitespace stripping uses).
type position struct{ Line, Col, Off int32 }

type stmtKind uint8

const (
	sText stmtKind = iota
	sMacro
	sInterp     // ${x}
	sHashInterp // #{x}, FreeMarker's legacy numeric interpolation
	sIf
	sBranch // one arm of an #if; expr nil for #else
	sAssign
	sCapture // <#assign x>...</#assign>
	sComment
	sUser // a Branch user directive
	sRoot // the list of several top-level elements (FreeMarker's MixedContent)
	// sBad is a construct that did not parse (an error was reported), kept
	// with the body it encloses so that a tree with errors is still whole;
	// only ParseTree returns trees that hold one
	sBad
	// The #list family, shaped as FreeMarker 2.3.31 shapes it, since the
	// white-space stripping walks that shape: a #list with an #else is a
	// container of the listing and the else part.
	sList       // <#list x as name[, name2]>: x; body; no name when an #items iterates
	sListElse   // <#list>...<#else>...</#list>: body is [sList, sElseOfList]
	sElseOfList // the #else part of a #list
	sItems      // <#items as name[, name2]>
	sSep        // <#sep>, with or without </#sep>
	sBreak      // <#break>
	sContinue   // <#continue>
)

// userKind names Branch's user directives.
type userKind uint8

const (
	uLoop userKind = iota
	uBreak
	uSep
	uJSON
	uJSONMap
	uURLEncode
)

var userNames = map[string]userKind{
	"loop": uLoop, "break": uBreak, "sep": uSep,
	"json": uJSON, "jsonmap": uJSONMap, "urlencode": uURLEncode,
}

type assignSet struct {
	name string
	op   string // "=", "+=", ..., "++", "--"
	x    expr   // nil for ++ and --
	pos  position
}

type param struct {
	name string
	x    expr
}

// stmt is a template element. One struct serves every kind so that the
// whitespace-stripping pass, which mirrors FreeMarker's tree walk, and the
// executor can treat elements uniformly.
type stmt struct {
	kind  stmtKind
	ukind userKind
	begin position // first character
	end   position // last character
	stop  position // just past the last character
	text  string
	name  string
	name2 string // the value variable of a hash listing (<#list h as k, v>)
	hash  bool   // a #list or #items that lists a hash's key-value pairs
	x     expr
	sets  []assignSet
	body  []*stmt // branches of sIf; contents of sBranch, sUser, sCapture, sRoot
	parms []param

	// tree links, used while stripping whitespace only
	parent *stmt
	idx    int
}
