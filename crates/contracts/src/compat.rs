//! The rule for published schemas: a version, once committed, may only grow compatibly.

use serde_json::Value;

/// Ways `new` would break consumers or producers of `old`: a removed or changed property,
/// a new required property, a changed type. Applied to the top level and every `$defs`
/// entry. Empty means compatible.
pub fn breaking_changes(old: &Value, new: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    compare_object("", old, new, &mut problems);
    if let Some(old_defs) = old.get("$defs").and_then(Value::as_object) {
        for (name, old_def) in old_defs {
            match new.get("$defs").and_then(|d| d.get(name)) {
                Some(new_def) => {
                    compare_object(&format!("$defs.{name}."), old_def, new_def, &mut problems)
                }
                None => problems.push(format!("definition {name} was removed")),
            }
        }
    }
    problems
}

fn compare_object(prefix: &str, old: &Value, new: &Value, problems: &mut Vec<String>) {
    if old.get("type") != new.get("type") {
        problems.push(format!(
            "{prefix}type changed from {} to {}",
            old["type"], new["type"]
        ));
    }
    if old.get("enum") != new.get("enum") && old.get("enum").is_some() {
        problems.push(format!("{prefix}enum values changed"));
    }
    let empty = serde_json::Map::new();
    let old_props = old
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let new_props = new
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (name, old_prop) in old_props {
        match new_props.get(name) {
            None => problems.push(format!("{prefix}{name} was removed")),
            Some(p) if p != old_prop => problems.push(format!("{prefix}{name} changed")),
            _ => {}
        }
    }
    let required = |v: &Value| -> Vec<String> {
        v.get("required")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let old_required = required(old);
    for name in required(new) {
        if !old_required.contains(&name) {
            problems.push(format!("{prefix}{name} became required"));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::breaking_changes;

    fn schema(props: serde_json::Value, required: &[&str]) -> serde_json::Value {
        json!({"type": "object", "properties": props, "required": required})
    }

    #[test]
    fn adding_an_optional_property_is_compatible() {
        let old = schema(json!({"a": {"type": "string"}}), &["a"]);
        let new = schema(
            json!({"a": {"type": "string"}, "b": {"type": "integer"}}),
            &["a"],
        );
        assert!(breaking_changes(&old, &new).is_empty());
    }

    #[test]
    fn removing_changing_or_requiring_is_breaking() {
        let old = schema(json!({"a": {"type": "string"}}), &["a"]);
        let removed = schema(json!({}), &[]);
        let changed = schema(json!({"a": {"type": "integer"}}), &["a"]);
        let required = schema(
            json!({"a": {"type": "string"}, "b": {"type": "string"}}),
            &["a", "b"],
        );
        assert_eq!(breaking_changes(&old, &removed), ["a was removed"]);
        assert_eq!(breaking_changes(&old, &changed), ["a changed"]);
        assert_eq!(breaking_changes(&old, &required), ["b became required"]);
    }
}
