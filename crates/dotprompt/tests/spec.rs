//! Runs every case of the Dotprompt spec suite (`tests/spec/**/*.yaml`) with the semantics of the reference
//! runners: render, compare the result (minus `raw`) to `expect` (minus `raw`/`input`), compare `raw` when
//! expected, then compare `render_metadata` to `expect` (minus `messages`/`raw`).

use std::path::{Path, PathBuf};

use dotprompt::{DataArgument, Dotprompt, DotpromptOptions, PromptMetadata, ToolDefinition};
use serde_json::{Map, Value};

const EXPECTED_CASES: usize = 117;

fn spec_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).expect("spec dir").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            spec_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

/// Structural JSON equality, with numbers compared by value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn object(v: Option<&Value>) -> Map<String, Value> {
    v.and_then(Value::as_object).cloned().unwrap_or_default()
}

fn with_defaults(mut expected: Map<String, Value>) -> Value {
    for key in ["ext", "config", "metadata"] {
        expected.entry(key).or_insert_with(|| Value::Object(Map::new()));
    }
    Value::Object(expected)
}

fn dotprompt_for(suite: &Map<String, Value>) -> Dotprompt {
    let mut options = DotpromptOptions::new();
    for (name, schema) in object(suite.get("schemas")) {
        options = options.schema(name, schema);
    }
    for (name, tool) in object(suite.get("tools")) {
        let mut def: ToolDefinition = serde_json::from_value(tool).expect("tool definition");
        if def.name.is_empty() {
            def.name = name;
        }
        options = options.tool(def);
    }
    let resolver_partials = object(suite.get("resolverPartials"));
    options =
        options.partial_resolver(move |name| resolver_partials.get(name).and_then(Value::as_str).map(str::to_owned));
    let dp = Dotprompt::new(options);
    for (name, source) in object(suite.get("partials")) {
        dp.define_partial(&name, source.as_str().unwrap_or_default());
    }
    dp
}

fn run_case(suite: &Map<String, Value>, case: &Map<String, Value>) -> Result<(), String> {
    let template = suite.get("template").and_then(Value::as_str).ok_or("suite without template")?;
    let dp = dotprompt_for(suite);

    let mut data = object(suite.get("data"));
    data.extend(object(case.get("data")));
    let data: DataArgument = serde_json::from_value(Value::Object(data)).map_err(|e| format!("bad data: {e}"))?;
    let options: Option<PromptMetadata> = match case.get("options") {
        Some(o) => Some(serde_json::from_value(o.clone()).map_err(|e| format!("bad options: {e}"))?),
        None => None,
    };
    let expect = object(case.get("expect"));

    let rendered = dp.render(template, &data, options.as_ref()).map_err(|e| format!("render failed: {e}"))?;
    let mut result = serde_json::to_value(&rendered).map_err(|e| e.to_string())?;
    let raw = result.as_object_mut().and_then(|m| m.remove("raw"));
    let mut expected = expect.clone();
    let expected_raw = expected.remove("raw");
    expected.remove("input");
    let expected = with_defaults(expected);
    if !json_eq(&result, &expected) {
        return Err(format!("render mismatch\n  got:      {result}\n  expected: {expected}"));
    }
    if let Some(expected_raw) = expected_raw {
        let raw = raw.unwrap_or(Value::Null);
        if !json_eq(&raw, &expected_raw) {
            return Err(format!("raw mismatch\n  got:      {raw}\n  expected: {expected_raw}"));
        }
    }

    let meta = dp.render_metadata(template, options.as_ref()).map_err(|e| format!("render_metadata failed: {e}"))?;
    let mut meta = serde_json::to_value(&meta).map_err(|e| e.to_string())?;
    if let Some(m) = meta.as_object_mut() {
        m.remove("raw");
    }
    let mut expected = expect;
    expected.remove("messages");
    expected.remove("raw");
    let expected = with_defaults(expected);
    if !json_eq(&meta, &expected) {
        return Err(format!("render_metadata mismatch\n  got:      {meta}\n  expected: {expected}"));
    }
    Ok(())
}

#[test]
fn dotprompt_spec_suite() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spec");
    let mut files = Vec::new();
    spec_files(&root, &mut files);
    assert!(!files.is_empty(), "no spec files under {}", root.display());

    let (mut total, mut passed) = (0usize, 0usize);
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read spec file");
        let suites: Vec<Value> = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let rel = file.strip_prefix(&root).unwrap_or(file).display().to_string();
        for suite in &suites {
            let suite = suite.as_object().expect("suite is a mapping");
            let suite_name = suite.get("name").and_then(Value::as_str).unwrap_or("?");
            for case in suite.get("tests").and_then(Value::as_array).into_iter().flatten() {
                let case = case.as_object().expect("test is a mapping");
                total += 1;
                let desc = case.get("desc").and_then(Value::as_str).unwrap_or("?");
                match run_case(suite, case) {
                    Ok(()) => passed += 1,
                    Err(e) => failures.push(format!("{rel} :: {suite_name} :: {desc}\n  {e}")),
                }
            }
        }
    }
    println!("dotprompt spec: {passed}/{total} passed");
    for f in &failures {
        println!("FAIL {f}");
    }
    assert!(failures.is_empty(), "{} spec case(s) failed", failures.len());
    assert_eq!(total, EXPECTED_CASES, "spec case count changed");
    assert_eq!(passed, EXPECTED_CASES);
}
