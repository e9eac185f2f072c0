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
