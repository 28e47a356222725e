//! Parsing: the grammar's errors with their positions, and accepted templates.

use super::tpl;
use crate::{UriTemplate, UriTemplateError};

#[test]
fn parse_errors() {
    use UriTemplateError as E;
    let cases: &[(&str, E)] = &[
        ("{/id*", E::UnclosedExpression { position: 0 }),
        ("/id*}", E::UnmatchedClosingBrace { position: 4 }),
        ("a{b{c}", E::UnclosedExpression { position: 1 }),
        ("{/?id}", E::InvalidVariableName { position: 2, name: "?id".into() }),
        ("{var:prefix}", E::InvalidModifier { position: 4, modifier: ":prefix".into() }),
        ("{hello:2*}", E::InvalidModifier { position: 6, modifier: ":2*".into() }),
        ("{??hello}", E::InvalidVariableName { position: 2, name: "?hello".into() }),
        ("{!hello}", E::ReservedOperator { position: 1, operator: '!' }),
        ("{with space}", E::InvalidVariableName { position: 5, name: "with space".into() }),
        ("{ leading_space}", E::InvalidVariableName { position: 1, name: " leading_space".into() }),
        ("{trailing_space }", E::InvalidVariableName { position: 15, name: "trailing_space ".into() }),
        ("{=path}", E::ReservedOperator { position: 1, operator: '=' }),
        ("{$var}", E::InvalidVariableName { position: 1, name: "$var".into() }),
        ("{|var*}", E::ReservedOperator { position: 1, operator: '|' }),
        ("{@var}", E::ReservedOperator { position: 1, operator: '@' }),
        ("{,var}", E::ReservedOperator { position: 1, operator: ',' }),
        ("{*keys?}", E::InvalidVariableName { position: 1, name: "*keys?".into() }),
        ("{?empty=default,var}", E::InvalidVariableName { position: 7, name: "empty=default".into() }),
        ("x{?empty|foo=none}", E::InvalidVariableName { position: 8, name: "empty|foo=none".into() }),
        ("/h{#hello+}", E::InvalidVariableName { position: 9, name: "hello+".into() }),
        ("/people/{~thing}", E::InvalidVariableName { position: 9, name: "~thing".into() }),
        ("/{default-graph-uri}", E::InvalidVariableName { position: 9, name: "default-graph-uri".into() }),
        ("/sparql{?query){&default-graph-uri*}", E::UnclosedExpression { position: 7 }),
        ("/resolution{?x, y}", E::InvalidVariableName { position: 15, name: " y".into() }),
        ("{var:0}", E::InvalidModifier { position: 4, modifier: ":0".into() }),
        ("{var:01}", E::InvalidModifier { position: 4, modifier: ":01".into() }),
        ("{var:10000}", E::InvalidModifier { position: 4, modifier: ":10000".into() }),
        ("{var:}", E::InvalidModifier { position: 4, modifier: ":".into() }),
        ("{var:-1}", E::InvalidModifier { position: 4, modifier: ":-1".into() }),
        ("{x.}", E::InvalidVariableName { position: 2, name: "x.".into() }),
        ("{.x.}", E::InvalidVariableName { position: 3, name: "x.".into() }),
        ("{x..y}", E::InvalidVariableName { position: 3, name: "x..y".into() }),
        ("{%2x}", E::InvalidVariableName { position: 1, name: "%2x".into() }),
        ("{}", E::EmptyVariableName { position: 1 }),
        ("{+}", E::EmptyVariableName { position: 2 }),
        ("{a,}", E::EmptyVariableName { position: 3 }),
        ("{a,,b}", E::EmptyVariableName { position: 3 }),
        ("{*}", E::EmptyVariableName { position: 1 }),
        ("{:3}", E::EmptyVariableName { position: 1 }),
        ("{a**}", E::InvalidVariableName { position: 2, name: "a*".into() }),
        ("{é}", E::InvalidVariableName { position: 1, name: "é".into() }),
        ("}", E::UnmatchedClosingBrace { position: 0 }),
        ("{", E::UnclosedExpression { position: 0 }),
    ];
    for (template, expected) in cases {
        let err = UriTemplate::parse(template).expect_err(template);
        assert_eq!(&err, expected, "{template}");
        assert_eq!(err.position(), expected.position());
        assert!(err.to_string().starts_with("invalid URI template: "), "{err}");
    }
    let message = UriTemplate::parse("{var:0}").unwrap_err().to_string();
    assert!(message.contains(":0") && message.contains("byte 4"), "{message}");
    let boxed: Box<dyn std::error::Error> = Box::new(UriTemplate::parse("{").unwrap_err());
    assert_eq!(boxed.to_string(), "invalid URI template: '{' at byte 0 is never closed");
}

#[test]
fn parse_accepts_valid_templates() {
    for template in [
        "",
        "plain",
        "file:///{+path}",
        "{a.b}",
        "{A_1,b2:9999,c*}",
        "{%20x}",
        "{/a}{?b}{&c}{#d}{;e}{.f}",
        "café {x}",
        "{x}{y}",
        "{keys:1}",
    ] {
        let t = tpl(template);
        assert_eq!(t.as_str(), template);
        assert_eq!(t.to_string(), template);
        assert_eq!(template.parse::<UriTemplate>().as_ref(), Ok(&t));
    }
}

#[test]
fn variable_names_are_unique_and_ordered() {
    assert_eq!(tpl("{/var:1,var}/{+path}{?q,lang}{&q}").variable_names(), ["var", "path", "q", "lang"]);
    assert!(tpl("no/vars").variable_names().is_empty());
    assert_eq!(tpl("{Some%20Thing}{a.b}").variable_names(), ["Some%20Thing", "a.b"]);
}
