//! Randomised round trips (expand, match, expand again) and inputs that must not panic or hang.

use super::tpl;
use crate::syntax::{Part, VarSpec};
use crate::{UriTemplate, VarValue, Variables};

/// Deterministic xorshift generator for the property and robustness tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn string(&mut self, alphabet: &[&str], max_len: usize) -> String {
        let len = self.below(max_len + 1);
        (0..len).map(|_| *self.pick(alphabet)).collect()
    }
}

const VALUE_ALPHABET: &[&str] =
    &["a", "b", "Z", "0", "-", ".", "_", "~", " ", "/", "?", "#", "&", "=", ",", ";", ":", "%", "%41", "é", "€", "+"];

/// Prefix modifiers are undefined for composite values (RFC 6570 §2.4.1): expansion ignores
/// them and matching does not rebuild them, so prefixed variables get strings only.
fn random_value_of(rng: &mut Rng, composite: bool) -> Option<VarValue> {
    match rng.below(if composite { 5 } else { 3 }) {
        0 => None,
        1 | 2 => Some(VarValue::String(rng.string(VALUE_ALPHABET, 6))),
        3 => Some(VarValue::List((0..rng.below(4)).map(|_| rng.string(VALUE_ALPHABET, 4)).collect())),
        _ => Some(VarValue::Assoc(
            (0..rng.below(4)).map(|_| (rng.string(VALUE_ALPHABET, 3), rng.string(VALUE_ALPHABET, 3))).collect(),
        )),
    }
}

/// Any expansion matches back, to variables that expand to the same URI.
#[test]
fn round_trip_random_values() {
    let templates = [
        "{x}",
        "{+x}",
        "{#x}",
        "{.x}",
        "{/x}",
        "{;x}",
        "{?x}",
        "{&x}",
        "{x*}",
        "{+x*}",
        "{#x*}",
        "{.x*}",
        "{/x*}",
        "{;x*}",
        "{?x*}",
        "{&x*}",
        "{x,y}",
        "{+x,y}",
        "{/x,y*}",
        "{.x*,y}",
        "{?x,y*}",
        "{;x*,y}",
        "{x:3}",
        "{+x:2}",
        "{/x:2,y}",
        "file:///{+x}",
        "file:///{x}.txt",
        "a{x}b{y}c",
        "{x}{y}",
        "{x}{/y}{?z}",
        "{/x}{.y}{#z}",
        "{+x}/{y}",
        "{x}/{x}",
        "p{?x,y}{&z*}",
        "{x}.{y}",
        "é {x} ü",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for template in templates {
        let t = tpl(template);
        for _ in 0..300 {
            let mut values = Variables::new();
            for name in ["x", "y", "z"] {
                let prefixed = t.parts.iter().any(|part| match part {
                    Part::Expr(expr) => expr.vars.iter().any(|spec| spec.name == name && spec.prefix.is_some()),
                    Part::Literal { .. } => false,
                });
                if let Some(value) = random_value_of(&mut rng, !prefixed) {
                    values.insert(name.to_owned(), value);
                }
            }
            let uri = t.expand(&values);
            let matched = t.match_uri(&uri).unwrap_or_else(|| panic!("{template} should match {uri:?}"));
            assert_eq!(t.expand(&matched), uri, "{template}: {values:?} -> {uri:?} -> {matched:?}");
        }
    }
}

#[test]
fn garbage_templates_and_uris_do_not_panic() {
    const TEMPLATE_ALPHABET: &[&str] = &[
        "{", "}", "+", "#", ".", "/", ";", "?", "&", "=", ",", "!", "@", "|", "*", ":", "0", "1", "9", "a", "x", "y",
        "_", "%", "%2", "%41", "-", "~", " ", "é", "€", "{x}", "{+x}", "{/x*}", "{?x,y}", "{x:2}",
    ];
    const URI_ALPHABET: &[&str] = &[
        "a", "x", "y", "=", "&", "?", "/", ".", ";", ",", "#", "%", "%4", "%41", "%FF", "%C3", "%A9", "é", " ", "{",
        "}", "*", ":", "+", "-",
    ];
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let mut parsed = 0;
    for _ in 0..4000 {
        let template = rng.string(TEMPLATE_ALPHABET, 12);
        let Ok(t) = UriTemplate::parse(&template) else { continue };
        parsed += 1;
        let specs: Vec<&VarSpec> = t
            .parts
            .iter()
            .flat_map(|part| match part {
                Part::Expr(expr) => expr.vars.iter().collect(),
                Part::Literal { .. } => Vec::new(),
            })
            .collect();
        // Repeated variables are not cross-checked when matching, so the round trip is only
        // asserted when every variable occurs once.
        let unique = specs.len() == t.variable_names().len();
        for _ in 0..8 {
            let uri = rng.string(URI_ALPHABET, 16);
            let _ = t.match_uri(&uri);
            let mut values = Variables::new();
            for spec in &specs {
                if let Some(value) = random_value_of(&mut rng, spec.prefix.is_none()) {
                    values.insert(spec.name.clone(), value);
                }
            }
            let expanded = t.expand(&values);
            let matched = t.match_uri(&expanded);
            if unique {
                let matched = matched.unwrap_or_else(|| panic!("{template} should match {expanded:?}"));
                assert_eq!(t.expand(&matched), expanded, "{template}: {values:?} -> {expanded:?} -> {matched:?}");
            }
        }
    }
    assert!(parsed > 200, "only {parsed} random templates parsed");
    // Raw bytes of every kind, including multi-byte characters at odd offsets.
    for template in ["{x}", "{+x}", "{x}é{y}", "€{/x*}{?y}", "{.x:1}"] {
        let t = tpl(template);
        for c in (0u32..0x300).filter_map(char::from_u32) {
            let uri: String = [c, 'é', c].iter().collect();
            let _ = t.match_uri(&uri);
        }
    }
}

#[test]
fn pathological_inputs_finish() {
    let long = "a".repeat(3000);
    let t = tpl("{+a}{+b}{+c}{+d}{+e}x");
    assert_eq!(t.match_uri(&long), None);
    let t = tpl("{a,b,c,d,e,f,g}-{h}-z");
    let uri = format!("{}-", "a,".repeat(1500));
    assert_eq!(t.match_uri(&uri), None);
    let t = tpl("{+a}a{+b}a{+c}a{+d}b");
    assert_eq!(t.match_uri(&long), None);
    // Long but simple inputs still match.
    let t = tpl("file:///{+path}");
    let path = "dir/".repeat(50_000);
    assert_eq!(t.match_uri(&format!("file:///{path}")).unwrap()["path"].as_str(), Some(path.as_str()));
    let t = tpl("{?q}");
    let q = "b".repeat(100_000);
    assert_eq!(t.match_uri(&format!("?q={q}")).unwrap()["q"].as_str(), Some(q.as_str()));
    // Deeply nested templates are handled without recursion.
    let template: String = (0..20_000).map(|i| format!("{{v{i}}}/")).collect();
    let t = tpl(&template);
    let uri: String = (0..20_000).map(|i| format!("{i}/")).collect();
    assert_eq!(t.variable_names().len(), 20_000);
    let m = t.match_uri(&uri).unwrap();
    assert_eq!(m.len(), 20_000);
    assert_eq!(m["v19999"].as_str(), Some("19999"));
}
