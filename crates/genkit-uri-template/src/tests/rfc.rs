//! Expansion: every example of RFC 6570 (§1.2 levels 1-4 and §3.2), each also matched back,
//! and the cases the RFC leaves to implementations.

use super::{a, l, s, tpl, vars};
use crate::Variables;

/// The variables of RFC 6570 §3.2 (and §1.2); `keys` in the RFC's order.
fn rfc_vars() -> Variables {
    vars(&[
        ("count", l(&["one", "two", "three"])),
        ("dom", l(&["example", "com"])),
        ("dub", s("me/too")),
        ("hello", s("Hello World!")),
        ("half", s("50%")),
        ("var", s("value")),
        ("who", s("fred")),
        ("base", s("http://example.com/home/")),
        ("path", s("/foo/bar")),
        ("list", l(&["red", "green", "blue"])),
        ("keys", a(&[("semi", ";"), ("dot", "."), ("comma", ",")])),
        ("v", s("6")),
        ("x", s("1024")),
        ("y", s("768")),
        ("empty", s("")),
        ("empty_keys", a(&[])),
    ])
}

/// Checks expansion, then that the expansion matches back to variables that expand to it.
fn check_table(vars: &Variables, table: &[(&str, &str)]) {
    for &(template, expected) in table {
        let t = tpl(template);
        assert_eq!(t.expand(vars), expected, "expanding {template:?}");
        let matched = t.match_uri(expected).unwrap_or_else(|| panic!("{template:?} should match {expected:?}"));
        assert_eq!(t.expand(&matched), expected, "re-expanding {template:?} from {matched:?}");
    }
}

#[test]
fn rfc_section_2_1_and_3_2_1_variable_expansion() {
    check_table(
        &rfc_vars(),
        &[
            ("'{count}'", "'one,two,three'"),
            ("{count}", "one,two,three"),
            ("{count*}", "one,two,three"),
            ("{/count}", "/one,two,three"),
            ("{/count*}", "/one/two/three"),
            ("{;count}", ";count=one,two,three"),
            ("{;count*}", ";count=one;count=two;count=three"),
            ("{?count}", "?count=one,two,three"),
            ("{?count*}", "?count=one&count=two&count=three"),
            ("{&count*}", "&count=one&count=two&count=three"),
        ],
    );
}

#[test]
fn rfc_section_3_2_2_simple_string_expansion() {
    check_table(
        &rfc_vars(),
        &[
            ("{var}", "value"),
            ("'{var}'", "'value'"),
            ("{hello}", "Hello%20World%21"),
            ("{half}", "50%25"),
            ("O{empty}X", "OX"),
            ("O{undef}X", "OX"),
            ("{x,y}", "1024,768"),
            ("map?{x,y}", "map?1024,768"),
            ("{x,hello,y}", "1024,Hello%20World%21,768"),
            ("?{x,empty}", "?1024,"),
            ("?{x,undef}", "?1024"),
            ("?{undef,y}", "?768"),
            ("{var:3}", "val"),
            ("{var:30}", "value"),
            ("{list}", "red,green,blue"),
            ("{list*}", "red,green,blue"),
            ("{keys}", "semi,%3B,dot,.,comma,%2C"),
            ("{keys*}", "semi=%3B,dot=.,comma=%2C"),
        ],
    );
}

#[test]
fn rfc_section_3_2_3_reserved_expansion() {
    check_table(
        &rfc_vars(),
        &[
            ("{+var}", "value"),
            ("{+hello}", "Hello%20World!"),
            ("{+half}", "50%25"),
            ("{base}index", "http%3A%2F%2Fexample.com%2Fhome%2Findex"),
            ("{+base}index", "http://example.com/home/index"),
            ("O{+empty}X", "OX"),
            ("O{+undef}X", "OX"),
            ("{+path}/here", "/foo/bar/here"),
            ("{+path:6}/here", "/foo/b/here"),
            ("here?ref={+path}", "here?ref=/foo/bar"),
            ("up{+path}{var}/here", "up/foo/barvalue/here"),
            ("{+x,hello,y}", "1024,Hello%20World!,768"),
            ("{+path,x}/here", "/foo/bar,1024/here"),
            ("{+list}", "red,green,blue"),
            ("{+list*}", "red,green,blue"),
            ("{+keys}", "semi,;,dot,.,comma,,"),
            ("{+keys*}", "semi=;,dot=.,comma=,"),
        ],
    );
}

#[test]
fn rfc_section_3_2_4_fragment_expansion() {
    check_table(
        &rfc_vars(),
        &[
            ("{#var}", "#value"),
            ("X{#var}", "X#value"),
            ("X{#hello}", "X#Hello%20World!"),
            ("{#hello}", "#Hello%20World!"),
            ("{#half}", "#50%25"),
            ("foo{#empty}", "foo#"),
            ("foo{#undef}", "foo"),
            ("{#x,hello,y}", "#1024,Hello%20World!,768"),
            ("{#path,x}/here", "#/foo/bar,1024/here"),
            ("{#path:6}/here", "#/foo/b/here"),
            ("{#list}", "#red,green,blue"),
            ("{#list*}", "#red,green,blue"),
            ("{#keys}", "#semi,;,dot,.,comma,,"),
            ("{#keys*}", "#semi=;,dot=.,comma=,"),
        ],
    );
}

#[test]
fn rfc_section_3_2_5_label_expansion() {
    check_table(
        &rfc_vars(),
        &[
            ("{.who}", ".fred"),
            ("{.who,who}", ".fred.fred"),
            ("{.half,who}", ".50%25.fred"),
            ("www{.dom*}", "www.example.com"),
            ("X{.var}", "X.value"),
            ("X{.x,y}", "X.1024.768"),
            ("X{.var:3}", "X.val"),
            ("X{.empty}", "X."),
            ("X{.undef}", "X"),
            ("X{.list}", "X.red,green,blue"),
            ("X{.list*}", "X.red.green.blue"),
            ("X{.keys}", "X.semi,%3B,dot,.,comma,%2C"),
            ("X{.keys*}", "X.semi=%3B.dot=..comma=%2C"),
            ("X{.empty_keys}", "X"),
            ("X{.empty_keys*}", "X"),
        ],
    );
}

#[test]
fn rfc_section_3_2_6_path_segment_expansion() {
    check_table(
        &rfc_vars(),
        &[
            ("{/who}", "/fred"),
            ("{/who,who}", "/fred/fred"),
            ("{/half,who}", "/50%25/fred"),
            ("{/who,dub}", "/fred/me%2Ftoo"),
            ("{/var}", "/value"),
            ("{/var,empty}", "/value/"),
            ("{/var,undef}", "/value"),
            ("{/var,x}/here", "/value/1024/here"),
            ("{/var:1,var}", "/v/value"),
            ("{/list}", "/red,green,blue"),
            ("{/list*}", "/red/green/blue"),
            ("{/list*,path:4}", "/red/green/blue/%2Ffoo"),
            ("{/keys}", "/semi,%3B,dot,.,comma,%2C"),
            ("{/keys*}", "/semi=%3B/dot=./comma=%2C"),
        ],
    );
}

#[test]
fn rfc_section_3_2_7_path_style_parameter_expansion() {
    check_table(
        &rfc_vars(),
        &[
            ("{;who}", ";who=fred"),
            ("{;half}", ";half=50%25"),
            ("{;empty}", ";empty"),
            ("{;hello:5}", ";hello=Hello"),
            ("{;v,empty,who}", ";v=6;empty;who=fred"),
            ("{;v,bar,who}", ";v=6;who=fred"),
            ("{;x,y}", ";x=1024;y=768"),
            ("{;x,y,empty}", ";x=1024;y=768;empty"),
            ("{;x,y,undef}", ";x=1024;y=768"),
            ("{;list}", ";list=red,green,blue"),
            ("{;list*}", ";list=red;list=green;list=blue"),
            ("{;keys}", ";keys=semi,%3B,dot,.,comma,%2C"),
            ("{;keys*}", ";semi=%3B;dot=.;comma=%2C"),
        ],
    );
}

#[test]
fn rfc_section_3_2_8_form_style_query_expansion() {
    check_table(
        &rfc_vars(),
        &[
            ("{?who}", "?who=fred"),
            ("{?half}", "?half=50%25"),
            ("{?x,y}", "?x=1024&y=768"),
            ("{?x,y,empty}", "?x=1024&y=768&empty="),
            ("{?x,y,undef}", "?x=1024&y=768"),
            ("{?var:3}", "?var=val"),
            ("{?list}", "?list=red,green,blue"),
            ("{?list*}", "?list=red&list=green&list=blue"),
            ("{?keys}", "?keys=semi,%3B,dot,.,comma,%2C"),
            ("{?keys*}", "?semi=%3B&dot=.&comma=%2C"),
        ],
    );
}

#[test]
fn rfc_section_3_2_9_form_style_query_continuation() {
    check_table(
        &rfc_vars(),
        &[
            ("{&who}", "&who=fred"),
            ("{&half}", "&half=50%25"),
            ("?fixed=yes{&x}", "?fixed=yes&x=1024"),
            ("{&var:3}", "&var=val"),
            ("{&x,y,empty}", "&x=1024&y=768&empty="),
            ("{&x,y,undef}", "&x=1024&y=768"),
            ("{&list}", "&list=red,green,blue"),
            ("{&list*}", "&list=red&list=green&list=blue"),
            ("{&keys}", "&keys=semi,%3B,dot,.,comma,%2C"),
            ("{&keys*}", "&semi=%3B&dot=.&comma=%2C"),
        ],
    );
}

#[test]
fn extended_expansion_examples() {
    let v = vars(&[
        ("id", s("admin%2F")),
        ("not_pct", s("%foo")),
        ("list", l(&["red%25", "%2Fgreen", "blue "])),
        ("keys", a(&[("key1", "val1%2F"), ("key2", "val2%2F")])),
    ]);
    check_table(
        &v,
        &[
            ("{+id}", "admin%2F"),
            ("{#id}", "#admin%2F"),
            ("{id}", "admin%252F"),
            ("{+not_pct}", "%25foo"),
            ("{#not_pct}", "#%25foo"),
            ("{not_pct}", "%25foo"),
            ("{+list}", "red%25,%2Fgreen,blue%20"),
            ("{#list}", "#red%25,%2Fgreen,blue%20"),
            ("{list}", "red%2525,%252Fgreen,blue%20"),
            ("{+keys}", "key1,val1%2F,key2,val2%2F"),
            ("{#keys}", "#key1,val1%2F,key2,val2%2F"),
            ("{keys}", "key1,val1%252F,key2,val2%252F"),
        ],
    );
    let v = vars(&[("var", s("value")), ("greek", s("αβγδε")), ("currency", s("€uro")), ("clef", s("𝄞stave"))]);
    check_table(
        &v,
        &[
            ("{greek:1}", "%CE%B1"),
            ("{greek:2}", "%CE%B1%CE%B2"),
            ("{+greek:2}", "%CE%B1%CE%B2"),
            ("{greek:30}", "%CE%B1%CE%B2%CE%B3%CE%B4%CE%B5"),
            ("{currency:1}", "%E2%82%AC"),
            ("{?currency:1}", "?currency=%E2%82%AC"),
            ("{clef:1}", "%F0%9D%84%9E"),
            ("{var:9999}", "value"),
            ("café/{var}", "caf%C3%A9/value"),
            ("x%20y/{var}", "x%20y/value"),
            ("x%20y{var}z%20w", "x%20yvaluez%20w"),
            ("100%/{var}", "100%25/value"),
        ],
    );
    let v = vars(&[
        ("id", s("person")),
        ("token", s("12345")),
        ("fields", l(&["id", "name", "picture"])),
        ("format", s("json")),
        ("q", s("URI Templates")),
        ("page", s("5")),
        ("lang", s("en")),
        ("geocode", l(&["37.76", "-122.427"])),
        ("first_name", s("John")),
        ("last.name", s("Doe")),
        ("Some%20Thing", s("foo")),
        ("word", s("drücken")),
        ("Stra%C3%9Fe", s("Grüner Weg")),
        ("german", a(&[("11", "elf"), ("12", "zwölf")])),
        ("empty_list", l(&[])),
    ]);
    check_table(
        &v,
        &[
            ("{/id*}", "/person"),
            (
                "{/id*}{?fields,first_name,last.name,token}",
                "/person?fields=id,name,picture&first_name=John&last.name=Doe&token=12345",
            ),
            (
                "/search.{format}{?q,geocode,lang,locale,page,result_type}",
                "/search.json?q=URI%20Templates&geocode=37.76,-122.427&lang=en&page=5",
            ),
            ("/test{/Some%20Thing}", "/test/foo"),
            ("/service{?word}", "/service?word=dr%C3%BCcken"),
            ("/lookup{?Stra%C3%9Fe}", "/lookup?Stra%C3%9Fe=Gr%C3%BCner%20Weg"),
            ("{?german*}", "?11=elf&12=zw%C3%B6lf"),
            ("{/empty_list}", ""),
            ("{?empty_list*}", ""),
        ],
    );
}

#[test]
fn prefix_modifier_ignored_for_composite_values() {
    let v = rfc_vars();
    assert_eq!(tpl("{list:1}").expand(&v), "red,green,blue");
    assert_eq!(tpl("{?keys:1}").expand(&v), "?keys=semi,%3B,dot,.,comma,%2C");
}

#[test]
fn explode_assoc_with_empty_values_in_named_expressions() {
    let v = vars(&[("keys", a(&[("a", ""), ("b", "1")])), ("list", l(&["", "x"]))]);
    assert_eq!(tpl("{?keys*}").expand(&v), "?a=&b=1");
    assert_eq!(tpl("{;keys*}").expand(&v), ";a;b=1");
    assert_eq!(tpl("{;list*}").expand(&v), ";list;list=x");
    assert_eq!(tpl("{?list*}").expand(&v), "?list=&list=x");
    assert_eq!(tpl("{keys*}").expand(&v), "a=,b=1");
    for template in ["{?keys*}", "{;keys*}", "{;list*}", "{?list*}", "{keys*}", "{&keys*,list*}"] {
        let t = tpl(template);
        let uri = t.expand(&v);
        let matched = t.match_uri(&uri).unwrap_or_else(|| panic!("{template}: {uri}"));
        assert_eq!(t.expand(&matched), uri, "{template}");
    }
    assert_eq!(tpl("{;keys*}").match_uri(";a;b=1").unwrap()["keys"], a(&[("a", ""), ("b", "1")]));
}
