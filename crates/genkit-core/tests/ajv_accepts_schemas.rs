//! The JSON schemas we emit compile and validate the same way in ajv + ajv-formats (the
//! validator of Genkit JS and its tools), in strict mode. Needs Node.js and
//! `npm ci --prefix tools/ajv-check` (done by `scripts/test`).

use std::io::Write;
use std::process::{Command, Stdio};

use genkit_core::schema_for;
use serde_json::json;

#[allow(dead_code)]
#[derive(schemars::JsonSchema)]
struct Address {
    street: String,
    zip: Option<String>,
}

#[allow(dead_code)]
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Person {
    full_name: String,
    age: u32,
    score: f64,
    tags: Vec<String>,
    address: Option<Address>,
    role: Role,
}

#[allow(dead_code)]
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Role {
    Admin,
    User,
}

#[allow(dead_code)]
#[derive(schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum Shape {
    Circle { radius: f64 },
    Square { side: u64 },
}

// Recursive types: the one case where our schemas keep `$ref` (and `definitions`).
#[allow(dead_code)]
#[derive(schemars::JsonSchema)]
struct TreeNode {
    label: String,
    children: Vec<TreeNode>,
}

#[allow(dead_code)]
#[derive(schemars::JsonSchema)]
struct Forest {
    name: String,
    trees: Vec<TreeNode>,
}

#[test]
fn recursive_schemas_keep_definitions_and_refs() {
    // Recursion at the root refers to the root; deeper recursion goes through `definitions`.
    let tree = schema_for::<TreeNode>();
    assert_eq!(tree["properties"]["children"]["items"], json!({"$ref": "#"}), "{tree:#}");
    let forest = schema_for::<Forest>();
    let node = &forest["definitions"]["TreeNode"];
    assert_eq!(node["properties"]["children"]["items"], json!({"$ref": "#/definitions/TreeNode"}), "{forest:#}");
    assert_eq!(forest["properties"]["trees"]["items"]["required"], json!(["label", "children"]), "{forest:#}");
}

#[test]
fn ajv_compiles_our_schemas_and_agrees_on_samples() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/ajv-check");
    assert!(
        std::path::Path::new(dir).join("node_modules/ajv").exists(),
        "ajv is not installed: run `npm ci --prefix tools/ajv-check` (scripts/test does this)"
    );
    let cases = json!([
        {
            "schema": schema_for::<Person>(),
            "valid": [
                {"fullName": "Ada", "age": 36, "score": 1.5, "tags": [], "role": "admin"},
                {"fullName": "Bo", "age": 0, "score": 0, "tags": ["x"], "address": {"street": "s", "zip": null}, "role": "user"}
            ],
            "invalid": [
                {"fullName": "Ada", "age": -1, "score": 1, "tags": [], "role": "admin"},
                {"fullName": "Ada", "age": 1, "score": 1, "tags": [], "role": "root"},
                {"age": 1, "score": 1, "tags": [], "role": "user"}
            ]
        },
        {
            "schema": schema_for::<Shape>(),
            "valid": [{"kind": "circle", "radius": 2.0}, {"kind": "square", "side": 3}],
            "invalid": [{"kind": "triangle"}, {"kind": "square"}]
        },
        {
            "schema": schema_for::<TreeNode>(),
            "valid": [
                {"label": "a", "children": []},
                {"label": "a", "children": [{"label": "b", "children": [{"label": "c", "children": []}]}]}
            ],
            "invalid": [
                {"label": "a"},
                {"label": "a", "children": [{"label": 1, "children": []}]},
                {"label": "a", "children": [{"label": "b", "children": [{"label": "c"}]}]}
            ]
        },
        {
            "schema": schema_for::<Forest>(),
            "valid": [
                {"name": "f", "trees": []},
                {"name": "f", "trees": [{"label": "a", "children": [{"label": "b", "children": []}]}]}
            ],
            "invalid": [
                {"name": "f", "trees": [{"label": "a"}]},
                {"name": "f", "trees": [{"label": "a", "children": [{"label": "b", "children": [{"label": 2, "children": []}]}]}]},
                {"name": "f", "trees": [{"label": "a", "children": [{"label": "b", "children": [{"children": []}]}]}]}
            ]
        },
        {"schema": schema_for::<Vec<u8>>(), "valid": [[0, 255]], "invalid": [[256], "x"]},
        {"schema": schema_for::<String>(), "valid": ["s"], "invalid": [1]}
    ]);
    let mut child = Command::new("node")
        .arg(format!("{dir}/check.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node must be installed to run this test");
    child.stdin.take().unwrap().write_all(cases.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ajv check failed: {stdout}{stderr}");
    assert_eq!(stdout.trim(), "ok 6");

    // Our own validator agrees on the same samples.
    for case in cases.as_array().unwrap() {
        let v = genkit_core::SchemaValidator::new(case["schema"].clone()).unwrap();
        for s in case["valid"].as_array().unwrap() {
            v.validate(s).unwrap();
        }
        for s in case["invalid"].as_array().unwrap() {
            assert!(v.validate(s).is_err(), "accepted {s}");
        }
    }
}
