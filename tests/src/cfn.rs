//! `template.yaml` read as CloudFormation JSON, and the workspace's binaries, for the tests that
//! check the template against the code (suite `template`) and run its functions (`e2e_emulator`).
//!
//! serde_yaml reads CloudFormation's short-form intrinsics (`!Ref X`, `!GetAtt A.B`, `!Sub s`,
//! `!If [c, a, b]`, ...) as tagged values. [`parse`] turns them into their long JSON forms
//! (`{"Ref": "X"}`, `{"Fn::GetAtt": ["A", "B"]}`, `{"Fn::Sub": "s"}`, `{"Fn::If": [...]}`), so
//! the tests compare one shape whichever form the template uses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use serde_yaml::Value as Yaml;

/// The workspace root (the directory of `template.yaml` and the root `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace root")
        .to_path_buf()
}

/// A CloudFormation/SAM template as long-form JSON.
pub fn parse(text: &str) -> Value {
    let yaml: Yaml = serde_yaml::from_str(text).expect("the template is valid YAML");
    to_json(yaml)
}

/// `template.yaml` of the workspace, as long-form JSON.
pub fn template() -> Value {
    let path = workspace_root().join("template.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    parse(&text)
}

fn to_json(y: Yaml) -> Value {
    match y {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64().map(Value::from).unwrap_or(Value::Null)
            }
        }
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Yaml::Mapping(m) => {
            Value::Object(m.into_iter().map(|(k, v)| (scalar_key(k), to_json(v))).collect())
        }
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let value = to_json(tagged.value);
            match name {
                "Ref" | "Condition" => json!({ name: value }),
                // `!GetAtt Resource.Attribute` (the attribute may itself contain dots)
                "GetAtt" => match value {
                    Value::String(s) => {
                        let (resource, attribute) = s
                            .split_once('.')
                            .unwrap_or_else(|| panic!("!GetAtt {s} has no attribute"));
                        json!({ "Fn::GetAtt": [resource, attribute] })
                    }
                    other => json!({ "Fn::GetAtt": other }),
                },
                _ => json!({ format!("Fn::{name}"): value }),
            }
        }
    }
}

fn scalar_key(k: Yaml) -> String {
    match k {
        Yaml::String(s) => s,
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => n.to_string(),
        other => panic!("unexpected mapping key {other:?}"),
    }
}

/// `{"Ref": name}`
pub fn reference(name: &str) -> Value {
    json!({ "Ref": name })
}

/// The template's resources of one `Type`, by logical id.
pub fn resources<'a>(template: &'a Value, kind: &str) -> BTreeMap<&'a str, &'a Value> {
    template["Resources"]
        .as_object()
        .expect("the template has Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

/// A function of the template with the binary SAM builds for it.
#[derive(Debug, Clone)]
pub struct Function<'a> {
    pub logical_id: &'a str,
    pub binary: &'a str,
    pub resource: &'a Value,
}

/// Every `AWS::Serverless::Function` with its `Metadata.BuildProperties.Binary`.
pub fn functions(template: &Value) -> Vec<Function<'_>> {
    resources(template, "AWS::Serverless::Function")
        .into_iter()
        .map(|(logical_id, resource)| Function {
            logical_id,
            binary: resource["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{logical_id} has no Metadata.BuildProperties.Binary")),
            resource,
        })
        .collect()
}

/// The function whose binary is `binary`.
pub fn function_by_binary<'a>(template: &'a Value, binary: &str) -> Function<'a> {
    functions(template)
        .into_iter()
        .find(|f| f.binary == binary)
        .unwrap_or_else(|| panic!("no function of template.yaml builds {binary}"))
}

/// A `[[bin]]` target of a workspace package, from `cargo metadata`.
#[derive(Debug, Clone)]
pub struct Bin {
    pub name: String,
    pub package: String,
    /// The package's `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// The binary's `main.rs`.
    pub src_path: PathBuf,
}

/// Every binary target of the workspace's packages (`cargo metadata --no-deps`).
pub fn workspace_bins() -> Vec<Bin> {
    let cargo = crate::runtime_api::cargo();
    let manifest = workspace_root().join("Cargo.toml");
    let out = crate::runtime_api::stdout_of(
        std::process::Command::new(&cargo)
            .args(["metadata", "--no-deps", "--offline", "--format-version", "1"])
            .arg("--manifest-path")
            .arg(&manifest),
        "cargo metadata",
    );
    let meta: Value = serde_json::from_slice(&out).expect("cargo metadata prints JSON");
    let mut bins = Vec::new();
    for package in meta["packages"].as_array().expect("packages") {
        for target in package["targets"].as_array().expect("targets") {
            let is_bin = target["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "bin"));
            if is_bin {
                bins.push(Bin {
                    name: target["name"].as_str().expect("name").to_owned(),
                    package: package["name"].as_str().expect("name").to_owned(),
                    manifest_path: PathBuf::from(
                        package["manifest_path"].as_str().expect("manifest_path"),
                    ),
                    src_path: PathBuf::from(target["src_path"].as_str().expect("src_path")),
                });
            }
        }
    }
    bins
}

/// The object at `value`, or an empty one (for optional template sections).
pub fn object(value: &Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}
