//! The PII redaction hook: a provider declares the JSON field paths it must never
//! let us store (`Capabilities::redact`), and the daemon removes them before
//! anything is written: the inbox's raw body, `remote_data`, dead letters.
//!
//! A path is dot-separated keys; `[]` after a key walks every element of that
//! array: `CandidateDriverRecords[].DriverLicenseNum`. A leading `**.` matches the
//! rest of the path at any depth, for fields that may be nested anywhere.

use crate::model::Record;
use serde_json::Value;

/// Removes the fields from a record's raw object (`remote_data`).
pub fn redact_record<S: AsRef<str>>(record: &mut Record, paths: &[S]) -> usize {
    if paths.is_empty() {
        return 0;
    }
    redact_value(&mut record.meta_mut().remote_data, paths)
}

/// What is stored instead of a body that is not JSON, for a provider that
/// declares redaction: its fields cannot be removed, so none of it is kept.
pub fn withheld_body(body: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    serde_json::to_vec(&serde_json::json!({
        "withheld": "the body is not JSON, so fields that must never be stored could not be removed from it",
        "bytes": body.len(),
        "sha256": hex::encode(Sha256::digest(body)),
    }))
    .unwrap_or_default()
}

/// Removes every field `paths` names from `value`; returns how many were removed.
pub fn redact_value<S: AsRef<str>>(value: &mut Value, paths: &[S]) -> usize {
    paths.iter().map(|p| redact_path(value, p.as_ref())).sum()
}

/// Redacts a JSON body. A body that is not JSON comes back unchanged with `None`
/// (the caller decides: keep it out, or store it); `Some` is the body without the
/// fields, re-serialised only when something was removed.
pub fn redact_body<S: AsRef<str>>(body: &[u8], paths: &[S]) -> Option<Vec<u8>> {
    if paths.is_empty() {
        return Some(body.to_vec());
    }
    let mut value: Value = serde_json::from_slice(body).ok()?;
    if redact_value(&mut value, paths) == 0 {
        return Some(body.to_vec());
    }
    serde_json::to_vec(&value).ok()
}

/// `text` (an error message about `original`, say a mapping failure that
/// quotes a value) with every value `paths` names in `original` replaced by
/// `[redacted]`, so a reason stored or logged never carries one.
pub fn scrub_text<S: AsRef<str>>(text: &str, original: &Value, paths: &[S]) -> String {
    if paths.is_empty() {
        return text.to_string();
    }
    // The values are what redaction would remove: redact a copy, and take
    // every leaf the copy lost.
    let mut kept = original.clone();
    if redact_value(&mut kept, paths) == 0 {
        return text.to_string();
    }
    let mut before = Vec::new();
    leaves(original, &mut before);
    let mut after = Vec::new();
    leaves(&kept, &mut after);
    let mut out = text.to_string();
    let mut removed: Vec<String> = before.into_iter().filter(|v| !after.contains(v)).collect();
    // Longest first, so a value containing another is replaced whole.
    removed.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for value in removed.iter().filter(|v| v.len() >= 3) {
        out = out.replace(value.as_str(), "[redacted]");
    }
    out
}

fn leaves(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|v| leaves(v, out)),
        Value::Object(map) => map.values().for_each(|v| leaves(v, out)),
        Value::Bool(_) | Value::Null => {}
    }
}

fn redact_path(value: &mut Value, path: &str) -> usize {
    if let Some(rest) = path.strip_prefix("**.") {
        return redact_anywhere(value, rest);
    }
    let segments: Vec<&str> = path.split('.').filter(|s| !s.is_empty()).collect();
    remove(value, &segments)
}

fn redact_anywhere(value: &mut Value, rest: &str) -> usize {
    let segments: Vec<&str> = rest.split('.').filter(|s| !s.is_empty()).collect();
    let mut n = remove(value, &segments);
    match value {
        Value::Object(map) => {
            for v in map.values_mut() {
                n += redact_anywhere(v, rest);
            }
        }
        Value::Array(items) => {
            for v in items {
                n += redact_anywhere(v, rest);
            }
        }
        _ => {}
    }
    n
}

fn remove(value: &mut Value, segments: &[&str]) -> usize {
    let Some((first, rest)) = segments.split_first() else {
        return 0;
    };
    let (key, each) = match first.strip_suffix("[]") {
        Some(k) => (k, true),
        None => (*first, false),
    };
    let Value::Object(map) = value else {
        return 0;
    };
    if rest.is_empty() && !each {
        return usize::from(map.remove(key).is_some());
    }
    let Some(child) = map.get_mut(key) else {
        return 0;
    };
    match (each, child) {
        (true, Value::Array(items)) => items.iter_mut().map(|item| remove(item, rest)).sum(),
        (false, child) => remove(child, rest),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scrubs_redacted_values_out_of_a_message() {
        let raw =
            json!({"SSN": "123-45-6789", "Name": "Ada", "Records": [{"DriverLicenseNum": 987654}]});
        let msg = "invalid SSN \"123-45-6789\" for Ada (licence 987654)";
        let clean = scrub_text(msg, &raw, &["SSN", "Records[].DriverLicenseNum"]);
        assert!(
            !clean.contains("123-45-6789") && !clean.contains("987654"),
            "{clean}"
        );
        assert!(clean.contains("Ada"), "{clean}");
    }

    #[test]
    fn removes_named_fields_at_any_depth_and_in_arrays() {
        let mut v = json!({
            "SSN": "123-45-6789",
            "Candidate": {"DateOfBirth": "1990-01-01", "Email": "a@b.c"},
            "CandidateDriverRecords": [{"DriverLicenseNum": "D1", "State": "CA"}, {"DriverLicenseNum": "D2"}],
        });
        let n = redact_value(
            &mut v,
            &[
                "SSN",
                "**.DateOfBirth",
                "CandidateDriverRecords[].DriverLicenseNum",
                "Missing.Field",
            ],
        );
        assert_eq!(n, 4);
        let text = v.to_string();
        for secret in ["123-45-6789", "1990-01-01", "D1", "D2"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("a@b.c") && text.contains("CA"));
    }

    #[test]
    fn bodies_without_the_fields_are_kept_byte_for_byte() {
        let body = br#"{ "a" : 1 }"#;
        assert_eq!(redact_body(body, &["SSN"]).unwrap(), body.to_vec());
        assert_eq!(redact_body(b"not json", &["SSN"]), None);
        assert_eq!(
            redact_body::<&str>(b"not json", &[]).unwrap(),
            b"not json".to_vec()
        );
    }
}
