//! Matching: the rules of the crate documentation, case by case.

use super::{a, l, s, tpl, vars};
use crate::Variables;

#[test]
fn template_without_expressions_requires_exact_equality() {
    let t = tpl("my://static/resource");
    assert_eq!(t.match_uri("my://static/resource"), Some(Variables::new()));
    assert!(!t.is_match("my://static/resource/"));
    assert!(!t.is_match("my://static/resourc"));
    assert!(!t.is_match("MY://static/resource"));
    assert!(!t.is_match(""));
    assert_eq!(tpl("").match_uri(""), Some(Variables::new()));
    assert!(!tpl("").is_match("x"));
    // Literals that need encoding also match their encoded form.
    let t = tpl("my docs/é");
    assert!(t.is_match("my docs/é"));
    assert!(t.is_match("my%20docs/%C3%A9"));
    assert!(!t.is_match("my%20docs/é"));
}

#[test]
fn simple_variable_does_not_cross_slash() {
    let t = tpl("file:///{path}");
    // JS uri-templates would give path = "a/b" here; we follow the RFC and Go Genkit.
    assert_eq!(t.match_uri("file:///a/b"), None);
    assert_eq!(t.match_uri("file:///a%2Fb"), Some(vars(&[("path", s("a/b"))])));
    assert_eq!(t.match_uri("file:///hello%20world"), Some(vars(&[("path", s("hello world"))])));
    assert_eq!(t.match_uri("file:///"), Some(vars(&[("path", s(""))])));
    assert_eq!(t.match_uri("file:///a?b"), None);
    assert_eq!(t.match_uri("file:///a#b"), None);
    assert_eq!(t.match_uri("file:///a:b"), None);
    assert_eq!(t.match_uri("file:///a@b"), None);
    // Lenient characters are taken as themselves.
    assert_eq!(t.match_uri("file:///it's (1)+x!"), Some(vars(&[("path", s("it's (1)+x!"))])));
    assert_eq!(t.match_uri("file:///café ü"), Some(vars(&[("path", s("café ü"))])));
    assert_eq!(t.match_uri("file:///100%"), Some(vars(&[("path", s("100%"))])));
    assert_eq!(t.match_uri("file:///%zz"), Some(vars(&[("path", s("%zz"))])));
    // Decoded bytes must be UTF-8.
    assert_eq!(t.match_uri("file:///a%FF"), None);
    assert_eq!(t.match_uri("file:///%C3%A9"), Some(vars(&[("path", s("é"))])));
    assert_eq!(t.match_uri("file:///%c3%a9"), Some(vars(&[("path", s("é"))])));

    let t = tpl("my://resource/{a}/{b}");
    assert_eq!(t.match_uri("my://resource/x/y"), Some(vars(&[("a", s("x")), ("b", s("y"))])));
    assert_eq!(t.match_uri("my://resource/x/y/z"), None);
    assert_eq!(t.match_uri("my://resource/x"), None);
}

#[test]
fn reserved_variable_crosses_slash_and_is_not_decoded() {
    let t = tpl("file:///{+path}");
    assert_eq!(t.match_uri("file:///a/b"), Some(vars(&[("path", s("a/b"))])));
    assert_eq!(t.match_uri("file:///a/b?c=d#e"), Some(vars(&[("path", s("a/b?c=d#e"))])));
    assert_eq!(t.match_uri("file:///a%20b"), Some(vars(&[("path", s("a%20b"))])));
    assert_eq!(t.match_uri("file:///a,b"), Some(vars(&[("path", s("a,b"))])));
    assert_eq!(t.match_uri("file:///"), Some(vars(&[("path", s(""))])));
    assert_eq!(t.match_uri("file://"), None);

    let t = tpl("{+base}/meta");
    assert_eq!(t.match_uri("http://x/a/meta/meta"), Some(vars(&[("base", s("http://x/a/meta"))])));
    let t = tpl("{#frag}");
    assert_eq!(t.match_uri("#a/b,c"), Some(vars(&[("frag", s("a/b,c"))])));
    assert_eq!(t.match_uri(""), Some(Variables::new()));
    assert_eq!(t.match_uri("a"), None);
    let t = tpl("{+x,y}");
    assert_eq!(t.match_uri("a/b,c"), Some(vars(&[("x", s("a/b")), ("y", s("c"))])));
}

#[test]
fn trailing_and_inner_literals() {
    let t = tpl("file:///{name}.txt");
    assert_eq!(t.match_uri("file:///report.txt"), Some(vars(&[("name", s("report"))])));
    assert_eq!(t.match_uri("file:///a.b.txt"), Some(vars(&[("name", s("a.b"))])));
    assert_eq!(t.match_uri("file:///.txt"), Some(vars(&[("name", s(""))])));
    assert_eq!(t.match_uri("file:///report.txt.bak"), None);
    assert_eq!(t.match_uri("file:///report.md"), None);
    assert_eq!(t.match_uri("file:///dir/report.txt"), None);

    let t = tpl("a{x}b");
    assert_eq!(t.match_uri("azzb"), Some(vars(&[("x", s("zz"))])));
    assert_eq!(t.match_uri("abbb"), Some(vars(&[("x", s("bb"))])));
    let t = tpl("{x}aa{y}");
    assert_eq!(t.match_uri("aaa"), Some(vars(&[("x", s("")), ("y", s("a"))])));
    let t = tpl("{x}-{y}-{z}");
    assert_eq!(t.match_uri("a-b-c-d"), Some(vars(&[("x", s("a")), ("y", s("b")), ("z", s("c-d"))])));
    let t = tpl("users/{id}/posts/{post}");
    assert_eq!(t.match_uri("users/7/posts/42"), Some(vars(&[("id", s("7")), ("post", s("42"))])));
    assert_eq!(t.match_uri("users/7/posts/"), Some(vars(&[("id", s("7")), ("post", s(""))])));
    assert_eq!(t.match_uri("users/7/comments/42"), None);
}

#[test]
fn query_parameters() {
    let t = tpl("/search{?q,lang}");
    assert_eq!(t.match_uri("/search?q=x&lang=en"), Some(vars(&[("q", s("x")), ("lang", s("en"))])));
    assert_eq!(t.match_uri("/search?q=x"), Some(vars(&[("q", s("x"))])));
    assert_eq!(t.match_uri("/search?lang=en"), Some(vars(&[("lang", s("en"))])));
    assert_eq!(t.match_uri("/search?lang=en&q=x"), Some(vars(&[("q", s("x")), ("lang", s("en"))])));
    assert_eq!(t.match_uri("/search"), Some(Variables::new()));
    assert_eq!(t.match_uri("/search?q=a%20b%26c"), Some(vars(&[("q", s("a b&c"))])));
    assert_eq!(t.match_uri("/search?q=a,b"), Some(vars(&[("q", l(&["a", "b"]))])));
    assert_eq!(t.match_uri("/search?q="), Some(vars(&[("q", s(""))])));
    assert_eq!(t.match_uri("/search?q"), Some(vars(&[("q", s(""))])));
    assert_eq!(t.match_uri("/search?"), None);
    assert_eq!(t.match_uri("/search?foo=1"), None);
    assert_eq!(t.match_uri("/search?q=1&q=2"), None);
    assert_eq!(t.match_uri("/search?q=1&&lang=en"), None);
    assert_eq!(t.match_uri("/search?q=a?b"), None);
    assert_eq!(t.match_uri("/search&q=1"), None);
    assert_eq!(t.match_uri("/searchq=1"), None);

    let t = tpl("/search{?q,opts*}");
    assert_eq!(
        t.match_uri("/search?q=x&a=1&b=2&q=y"),
        Some(vars(&[("q", s("x")), ("opts", a(&[("a", "1"), ("b", "2"), ("q", "y")]))]))
    );
    assert_eq!(t.match_uri("/search?opts=1&opts=2"), Some(vars(&[("opts", l(&["1", "2"]))])));

    let t = tpl("{?x}{&y}");
    assert_eq!(t.match_uri("?x=1&y=2"), Some(vars(&[("x", s("1")), ("y", s("2"))])));
    assert_eq!(t.match_uri("&y=2"), Some(vars(&[("y", s("2"))])));
    let t = tpl("{?x}{?y}");
    assert_eq!(t.match_uri("?x=1?y=2"), Some(vars(&[("x", s("1")), ("y", s("2"))])));
    let t = tpl("?fixed=yes{&x,y}");
    assert_eq!(t.match_uri("?fixed=yes&y=2"), Some(vars(&[("y", s("2"))])));
    assert_eq!(t.match_uri("?fixed=no&y=2"), None);

    let t = tpl("{;x,y}");
    assert_eq!(t.match_uri(";y=2;x"), Some(vars(&[("x", s("")), ("y", s("2"))])));
    assert_eq!(t.match_uri(";z=2"), None);
}

#[test]
fn path_segments_and_labels() {
    let t = tpl("repo{/path*}");
    assert_eq!(t.match_uri("repo/a/b/c"), Some(vars(&[("path", l(&["a", "b", "c"]))])));
    assert_eq!(t.match_uri("repo/a"), Some(vars(&[("path", l(&["a"]))])));
    assert_eq!(t.match_uri("repo/"), Some(vars(&[("path", l(&[""]))])));
    assert_eq!(t.match_uri("repo"), Some(Variables::new()));
    assert_eq!(t.match_uri("repo/a%2Fb/c"), Some(vars(&[("path", l(&["a/b", "c"]))])));
    assert_eq!(t.match_uri("repoa/b"), None);

    let t = tpl("{/a,b}");
    assert_eq!(t.match_uri("/x/y"), Some(vars(&[("a", s("x")), ("b", s("y"))])));
    assert_eq!(t.match_uri("/x"), Some(vars(&[("a", s("x"))])));
    assert_eq!(t.match_uri("/x/y/z"), None);
    let t = tpl("{/a*,b}");
    assert_eq!(t.match_uri("/x/y/z"), Some(vars(&[("a", l(&["x", "y"])), ("b", s("z"))])));
    let t = tpl("{/a}{?q}");
    assert_eq!(t.match_uri("/x?q=1"), Some(vars(&[("a", s("x")), ("q", s("1"))])));

    let t = tpl("{x,y}");
    assert_eq!(t.match_uri("a,b,c"), Some(vars(&[("x", s("a")), ("y", l(&["b", "c"]))])));
    assert_eq!(t.match_uri("a"), Some(vars(&[("x", s("a"))])));
    assert_eq!(t.match_uri("a,"), Some(vars(&[("x", s("a")), ("y", s(""))])));

    let t = tpl("www{.dom*}");
    assert_eq!(t.match_uri("www.example.com"), Some(vars(&[("dom", l(&["example", "com"]))])));
    let t = tpl("X{.x}");
    assert_eq!(t.match_uri("X.a.b"), Some(vars(&[("x", s("a.b"))])));
    let t = tpl("X{.keys*}");
    assert_eq!(t.match_uri("X.k.1=v.x.k2=w"), Some(vars(&[("keys", a(&[("k.1", "v.x"), ("k2", "w")]))])));
    let t = tpl("{keys*}");
    assert_eq!(t.match_uri("a=1,b=2"), Some(vars(&[("keys", a(&[("a", "1"), ("b", "2")]))])));
    assert_eq!(t.match_uri("a=1,b"), None);
    let t = tpl("{k,keys*}");
    assert_eq!(t.match_uri("p,q,a=b"), Some(vars(&[("k", l(&["p", "q"])), ("keys", a(&[("a", "b")]))])));
    let t = tpl("{/x,keys*}");
    assert_eq!(t.match_uri("/a=b"), Some(vars(&[("keys", a(&[("a", "b")]))])));
}

#[test]
fn prefix_modifiers_in_matching() {
    let t = tpl("{var:3}");
    assert_eq!(t.match_uri("val"), Some(vars(&[("var", s("val"))])));
    assert_eq!(t.match_uri("value"), None);
    assert_eq!(t.match_uri("%CE%B1%CE%B2%CE%B3"), Some(vars(&[("var", s("αβγ"))])));
    // Reserved values are verbatim, unless only the decoded value fits the prefix.
    assert_eq!(tpl("{+var:2}").match_uri("%CE%B1%CE%B2"), Some(vars(&[("var", s("αβ"))])));
    assert_eq!(tpl("{+var:12}").match_uri("%CE%B1%CE%B2"), Some(vars(&[("var", s("%CE%B1%CE%B2"))])));
    assert_eq!(tpl("{+var:1}").match_uri("%2F"), None);
    assert_eq!(tpl("{+var:1}").match_uri("/"), Some(vars(&[("var", s("/"))])));
    assert_eq!(tpl("{+var:2}").match_uri("abc"), None);
    let t = tpl("{/var:1,var}");
    assert_eq!(t.match_uri("/v/value"), Some(vars(&[("var", s("value"))])));
    let t = tpl("{x:2}{y}");
    assert_eq!(t.match_uri("abcd"), Some(vars(&[("x", s("ab")), ("y", s("cd"))])));
    let t = tpl("dictionary/{term:1}/{term}");
    assert_eq!(t.match_uri("dictionary/c/cat"), Some(vars(&[("term", s("cat"))])));
    // Occurrences are not cross-checked; the first full-length one wins.
    let t = tpl("{x}/{x}");
    assert_eq!(t.match_uri("a/b"), Some(vars(&[("x", s("a"))])));
}

#[test]
fn adjacent_expressions() {
    let t = tpl("{a}{b}");
    assert_eq!(t.match_uri("xy"), Some(vars(&[("a", s("xy")), ("b", s(""))])));
    let t = tpl("{x}{.y}");
    assert_eq!(t.match_uri("a.b.c"), Some(vars(&[("x", s("a")), ("y", s("b.c"))])));
    let t = tpl("up{+path}{var}/here");
    let m = t.match_uri("up/foo/barvalue/here").unwrap();
    assert_eq!(t.expand(&m), "up/foo/barvalue/here");
    let t = tpl("{+path}{?q}");
    assert_eq!(t.match_uri("/a/b?q=1"), Some(vars(&[("path", s("/a/b")), ("q", s("1"))])));
}

#[test]
fn exact_expansions_are_preferred_over_lenient_readings() {
    // `{x}` would write "A", not "%41", so the strict pass leaves all of it to `{+y}`.
    let t = tpl("{x}{+y}");
    assert_eq!(t.match_uri("%41Z;"), Some(vars(&[("x", s("")), ("y", s("%41Z;"))])));
    // Without a strict reading, the lenient one is used.
    let t = tpl("a/{x}");
    assert_eq!(t.match_uri("a/%41"), Some(vars(&[("x", s("A"))])));
    // `;` writes an empty string as `name` and a list of one empty string as `name=`.
    assert_eq!(tpl("{;x}").match_uri(";x"), Some(vars(&[("x", s(""))])));
    assert_eq!(tpl("{;x}").match_uri(";x="), Some(vars(&[("x", l(&[""]))])));
    // Named parameters in template order are read strictly, others leniently.
    let t = tpl("{?a,b*}");
    assert_eq!(t.match_uri("?a=1&k=v"), Some(vars(&[("a", s("1")), ("b", a(&[("k", "v")]))])));
    assert_eq!(t.match_uri("?k=v&a=1"), Some(vars(&[("a", s("1")), ("b", a(&[("k", "v")]))])));
    // A literal is matched in its encoded form first.
    let t = tpl("x%2{y}");
    assert_eq!(t.match_uri("x%252"), Some(vars(&[("y", s(""))])));
    assert_eq!(t.match_uri("x%2ab"), Some(vars(&[("y", s("ab"))])));
}

#[test]
fn genkit_resource_style_templates() {
    let t = tpl("my://resource/{param}");
    assert_eq!(t.match_uri("my://resource/value"), Some(vars(&[("param", s("value"))])));
    assert!(!t.is_match("my://resource"));
    assert!(!t.is_match("my://other/value"));
    let t = tpl("file://{+path}");
    assert_eq!(t.match_uri("file:///etc/hosts"), Some(vars(&[("path", s("/etc/hosts"))])));
    let t = tpl("db://{table}/{id}{?fields}");
    assert_eq!(
        t.match_uri("db://users/42?fields=name,email"),
        Some(vars(&[("table", s("users")), ("id", s("42")), ("fields", l(&["name", "email"]))]))
    );
}

/// Templates and values whose expansion matches back to exactly the same values.
#[test]
fn round_trip_exact_values() {
    let cases: Vec<(&str, Variables)> = vec![
        ("file:///{+path}", vars(&[("path", s("dir/sub/file.txt"))])),
        ("file:///{path}", vars(&[("path", s("a/b c?d#e&f=g,h;i"))])),
        ("file:///{path}", vars(&[("path", s("ünïcödé €"))])),
        ("my://{a}/{b}", vars(&[("a", s("x y")), ("b", s("100%"))])),
        ("{/path*}", vars(&[("path", l(&["a", "b c", "d/e"]))])),
        ("{/path*}{?q,lang}", vars(&[("path", l(&["a"])), ("q", s("hello world")), ("lang", s("en"))])),
        ("{?q,lang}", vars(&[("lang", s("fr"))])),
        ("{?list*}", vars(&[("list", l(&["a", "", "c,d"]))])),
        ("{?keys*}", vars(&[("keys", a(&[("k 1", "v=1"), ("k2", "")]))])),
        ("{;keys*}", vars(&[("keys", a(&[("k", "v"), ("e", "")]))])),
        ("{&x,y}", vars(&[("x", s("1")), ("y", l(&["2", "3"]))])),
        ("{;x,y,z}", vars(&[("x", s("")), ("z", s("z"))])),
        ("{.a,b}", vars(&[("a", s("x")), ("b", s("y.z"))])),
        ("X{.list*}", vars(&[("list", l(&["a", "b"]))])),
        ("{#frag}", vars(&[("frag", s("sec/1?x"))])),
        ("{x,y}", vars(&[("x", s("1")), ("y", s("2"))])),
        ("{keys*}", vars(&[("keys", a(&[("a", "1"), ("b", "2")]))])),
        ("{/keys*}", vars(&[("keys", a(&[("a", "1"), ("b", "")]))])),
        ("{var:3}/{var}", vars(&[("var", s("value"))])),
        ("base{/a}{/b*}{?c}{&d}{#e}", vars(&[("a", s("1")), ("b", l(&["2", "3"])), ("d", s("4")), ("e", s("5"))])),
        ("{+a}/x/{b}", vars(&[("a", s("p/x/q")), ("b", s("r"))])),
        ("{x}.{y}", vars(&[("x", s("a")), ("y", s("b.c"))])),
        ("{?Stra%C3%9Fe}", vars(&[("Stra%C3%9Fe", s("Grüner Weg"))])),
        ("{/id*}{?fields,token}", vars(&[("id", l(&["person", "albums"])), ("token", s("12345"))])),
    ];
    for (template, values) in cases {
        let t = tpl(template);
        let uri = t.expand(&values);
        assert_eq!(t.match_uri(&uri).as_ref(), Some(&values), "{template} via {uri:?}");
    }
}
