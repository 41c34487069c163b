//! Finding the plugin configurations in a file: a plugin configuration itself (JSON or
//! YAML), Istio `WasmPlugin` manifests (`spec.pluginConfig`, in any document of a
//! multi-document YAML file), or an Envoy configuration (every Wasm HTTP filter's
//! `configuration` string, at any depth, also inside an Istio `EnvoyFilter` patch).

use serde::Deserialize;
use serde_json::Value;

/// The protobuf type of Envoy's Wasm HTTP filter configuration.
const WASM_TYPE: &str = "envoy.extensions.filters.http.wasm.v3.Wasm";
/// The protobuf type Envoy expects the plugin configuration in.
const STRING_VALUE_TYPE: &str = "google.protobuf.StringValue";

/// One plugin configuration found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embedded {
    /// Where it is in the file; `None` when the whole file is the plugin configuration.
    pub origin: Option<String>,
    /// Its text, or why it cannot be read.
    pub text: Result<String, String>,
    /// When the text is a block of the file: the file line of its first line and the
    /// columns its lines were shifted left by.
    pub shift: Option<Shift>,
}

/// Where an embedded text block sits in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shift {
    /// File line (from 1) of the block's first line.
    pub first_line: usize,
    /// Columns removed from the start of each line.
    pub indent: usize,
}

/// Every plugin configuration in `text`; the whole text when it holds no manifest or
/// Envoy configuration (so that a broken plugin configuration still gets the core's own
/// error, with its position).
pub fn find(text: &str) -> Vec<Embedded> {
    let documents = documents(text).unwrap_or_default();
    let numbered = documents.len() > 1;
    let mut found = Vec::new();
    for (number, document) in documents.iter().enumerate() {
        let document_label = numbered.then(|| format!("document {}", number + 1));
        if is_wasm_plugin(document) {
            found.push(from_wasm_plugin(text, document, document_label));
        } else {
            let mut filters = Vec::new();
            walk(document, String::new(), &mut filters);
            found.extend(
                filters
                    .into_iter()
                    .map(|filter| from_filter(text, filter, document_label.as_deref())),
            );
        }
    }
    if found.is_empty() {
        found.push(Embedded {
            origin: None,
            text: Ok(text.to_owned()),
            shift: None,
        });
    }
    found
}

/// The documents of a JSON file or a (multi-document) YAML file, empty ones left out;
/// `None` when the text does not parse.
fn documents(text: &str) -> Option<Vec<Value>> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return serde_json::from_str(text).ok().map(|value| vec![value]);
    }
    let mut documents = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let value = Value::deserialize(document).ok()?;
        if !value.is_null() {
            documents.push(value);
        }
    }
    Some(documents)
}

fn is_wasm_plugin(document: &Value) -> bool {
    document.get("kind").and_then(Value::as_str) == Some("WasmPlugin")
}

fn from_wasm_plugin(text: &str, document: &Value, document_label: Option<String>) -> Embedded {
    let name = document
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("unnamed");
    let origin = match document_label {
        Some(label) => format!("{label} (WasmPlugin `{name}`), spec.pluginConfig"),
        None => format!("WasmPlugin `{name}`, spec.pluginConfig"),
    };
    let Some(plugin_config) = document.pointer("/spec/pluginConfig") else {
        return Embedded {
            origin: Some(origin),
            text: Err("the WasmPlugin has no spec.pluginConfig".to_owned()),
            shift: None,
        };
    };
    // Positions are best given in the file itself: find the YAML block that holds
    // exactly this value. Otherwise (flow style, JSON manifests) use the JSON Istio
    // would hand the filter.
    match yaml_block(text, "pluginConfig", |block| {
        serde_yaml::from_str::<Value>(block).ok().as_ref() == Some(plugin_config)
    }) {
        Some((block, shift)) => Embedded {
            origin: Some(origin),
            text: Ok(block),
            shift: Some(shift),
        },
        None => Embedded {
            origin: Some(origin),
            text: serde_json::to_string_pretty(plugin_config).map_err(|error| error.to_string()),
            shift: None,
        },
    }
}

/// A Wasm filter found in an Envoy configuration.
struct Filter<'a> {
    /// Its path in the document, e.g. `static_resources.listeners[0]…http_filters[0]`.
    path: String,
    /// The filter entry's `name`, if any.
    name: Option<&'a str>,
    /// The Wasm `PluginConfig` (`typed_config.config`).
    config: Option<&'a Value>,
}

/// Collects every object whose `typed_config` is a Wasm filter configuration, either
/// directly or as a `TypedStruct` (Istio `EnvoyFilter` patches).
fn walk<'a>(value: &'a Value, path: String, filters: &mut Vec<Filter<'a>>) {
    match value {
        Value::Object(fields) => {
            if let Some(config) = fields.get("typed_config").and_then(wasm_plugin_config) {
                filters.push(Filter {
                    path,
                    name: fields.get("name").and_then(Value::as_str),
                    config,
                });
                return;
            }
            for (key, child) in fields {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(child, child_path, filters);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                walk(child, format!("{path}[{index}]"), filters);
            }
        }
        _ => {}
    }
}

/// For a Wasm `typed_config`: `Some(config)` (`None` inside when it has no `config`).
fn wasm_plugin_config(typed_config: &Value) -> Option<Option<&Value>> {
    let type_name = |value: &Value, field: &str| {
        value
            .get(field)
            .and_then(Value::as_str)
            .map(|url| url.rsplit('/').next().unwrap_or(url).to_owned())
    };
    if type_name(typed_config, "@type").as_deref() == Some(WASM_TYPE) {
        return Some(typed_config.get("config"));
    }
    if type_name(typed_config, "type_url").as_deref() == Some(WASM_TYPE) {
        return Some(typed_config.pointer("/value/config"));
    }
    None
}

fn from_filter(file: &str, filter: Filter<'_>, document_label: Option<&str>) -> Embedded {
    let mut origin = String::new();
    if let Some(label) = document_label {
        origin.push_str(label);
        origin.push_str(", ");
    }
    origin.push_str(&format!(
        "Wasm filter `{}` at {}",
        filter.name.unwrap_or("unnamed"),
        filter.path
    ));
    if let Some(plugin) = filter
        .config
        .and_then(|config| config.get("name"))
        .and_then(Value::as_str)
    {
        origin.push_str(&format!(" (plugin `{plugin}`)"));
    }
    let text = configuration_string(filter.config).map(str::to_owned);
    let shift = text.as_ref().ok().and_then(|value| {
        yaml_block(file, "value", |block| block.trim_end() == value.trim_end())
            .map(|(_, shift)| shift)
    });
    Embedded {
        origin: Some(origin),
        text,
        shift,
    }
}

/// The `configuration` of a Wasm `PluginConfig`: a `google.protobuf.StringValue`'s `value`.
fn configuration_string(config: Option<&Value>) -> Result<&str, String> {
    let configuration = config
        .and_then(|config| config.get("configuration"))
        .ok_or("the Wasm filter has no `configuration`")?;
    let type_url = configuration
        .get("@type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if type_url.rsplit('/').next() != Some(STRING_VALUE_TYPE) {
        return Err(format!(
            "the Wasm filter's `configuration` is a `{type_url}`, not a `type.googleapis.com/{STRING_VALUE_TYPE}`"
        ));
    }
    configuration
        .get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| "the Wasm filter's `configuration` has no string `value`".to_owned())
}

/// The first block of `text` under a line `KEY:` (or `KEY: |`, `KEY: |-`, …) whose
/// dedented content satisfies `holds`, with where it sits in the file.
fn yaml_block(text: &str, key: &str, holds: impl Fn(&str) -> bool) -> Option<(String, Shift)> {
    let lines: Vec<&str> = text.lines().collect();
    lines.iter().enumerate().find_map(|(number, line)| {
        let indent = indentation(line);
        let rest = line.trim_start().strip_prefix(key)?.strip_prefix(':')?;
        let rest = rest.trim();
        let opens_block = rest.is_empty()
            || rest.starts_with('#')
            || (rest.starts_with(['|', '>']) && rest.len() <= 3);
        if !opens_block {
            return None;
        }
        let body: Vec<&str> = lines
            .get(number + 1..)?
            .iter()
            .take_while(|line| line.trim().is_empty() || indentation(line) > indent)
            .copied()
            .collect();
        let shift = body
            .iter()
            .filter(|line| !line.trim().is_empty())
            .map(|line| indentation(line))
            .min()?;
        let block: String = body
            .iter()
            .map(|line| format!("{}\n", line.get(shift..).unwrap_or_default()))
            .collect();
        holds(&block).then_some((
            block,
            Shift {
                first_line: number + 2,
                indent: shift,
            },
        ))
    })
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_configuration_is_the_whole_file() {
        let text = "api: v1\nservices: []\n";
        assert_eq!(
            find(text),
            [Embedded {
                origin: None,
                text: Ok(text.to_owned()),
                shift: None
            }]
        );
    }

    #[test]
    fn wasm_plugins_are_picked_from_a_multi_document_file() {
        let text = "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n---\napiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata:\n  name: auth\nspec:\n  url: oci://x\n  pluginConfig:\n    api: v1\n    services:\n      - id: '1'\n";
        let found = find(text);
        assert_eq!(found.len(), 1);
        let embedded = found.first().unwrap();
        assert_eq!(
            embedded.origin.as_deref(),
            Some("document 2 (WasmPlugin `auth`), spec.pluginConfig")
        );
        assert_eq!(
            embedded.text.as_deref(),
            Ok("api: v1\nservices:\n  - id: '1'\n")
        );
        assert_eq!(
            embedded.shift,
            Some(Shift {
                first_line: 12,
                indent: 4
            })
        );
    }

    #[test]
    fn a_flow_style_plugin_config_becomes_json() {
        let text = "kind: WasmPlugin\nmetadata: {name: a}\nspec: {pluginConfig: {api: v1}}\n";
        let found = find(text);
        let embedded = found.first().unwrap();
        assert_eq!(embedded.text.as_deref(), Ok("{\n  \"api\": \"v1\"\n}"));
        assert_eq!(embedded.shift, None);
    }

    #[test]
    fn envoy_wasm_filters_are_found_at_any_depth() {
        let text = r#"{"static_resources": {"listeners": [{"filter_chains": [{"filters": [{"typed_config": {
            "http_filters": [
              {"name": "wasm", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                "config": {"name": "p", "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": "{\"api\": \"v1\"}"}}}},
              {"name": "router"}]}}]}]}]}}"#;
        let found = find(text);
        assert_eq!(found.len(), 1);
        let embedded = found.first().unwrap();
        assert_eq!(embedded.text.as_deref(), Ok(r#"{"api": "v1"}"#));
        assert_eq!(
            embedded.origin.as_deref(),
            Some(
                "Wasm filter `wasm` at static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0] (plugin `p`)"
            )
        );
    }

    #[test]
    fn a_typed_struct_in_an_envoy_filter_patch_is_found() {
        let text = "kind: EnvoyFilter\nspec:\n  configPatches:\n    - patch:\n        value:\n          name: w\n          typed_config:\n            '@type': type.googleapis.com/udpa.type.v1.TypedStruct\n            type_url: type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm\n            value:\n              config:\n                configuration:\n                  '@type': type.googleapis.com/google.protobuf.StringValue\n                  value: |\n                    {\"api\": \"v1\"}\n";
        let found = find(text);
        let embedded = found.first().unwrap();
        assert_eq!(embedded.text.as_deref(), Ok("{\"api\": \"v1\"}\n"));
        assert_eq!(
            embedded.shift,
            Some(Shift {
                first_line: 15,
                indent: 20
            })
        );
    }

    #[test]
    fn a_configuration_of_another_type_is_reported() {
        let text = r#"{"typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {"configuration": {"@type": "type.googleapis.com/google.protobuf.BytesValue", "value": "e30="}}}}"#;
        let found = find(text);
        assert!(
            found
                .first()
                .unwrap()
                .text
                .as_ref()
                .unwrap_err()
                .contains("BytesValue")
        );
    }
}
