//! Goodfit's `[connectors.options]`: the names of the paging parameters, the
//! webhook signature scheme and the incremental overlap, each overridable
//! because Goodfit's public page does not document them.

use hirebridge_sdk::signature::SignatureScheme;
use serde::{Deserialize, Serialize};

/// Options of a Goodfit connector section. Every field has a default, so an
/// absent `[connectors.options]` is the documented-plus-assumed behaviour.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoodfitOptions {
    /// Names of the list endpoints' paging parameters and response fields.
    #[serde(default)]
    pub paging: Paging,
    /// Replaces the whole assumed webhook signature scheme
    /// ([`crate::plugin::signature_scheme`]) when Goodfit's real layout differs.
    #[serde(default)]
    pub signature: Option<SignatureScheme>,
    /// How far before the newest update seen an incremental pass starts again
    /// (seconds), so records updated while a pass ran are not missed; re-reading
    /// an unchanged record writes nothing.
    #[serde(default = "default_overlap_secs")]
    pub overlap_secs: u64,
}

fn default_overlap_secs() -> u64 {
    600
}

/// The largest overlap accepted: a week re-reads plenty and keeps the
/// watermark arithmetic far from overflow.
pub const MAX_OVERLAP_SECS: u64 = 7 * 24 * 60 * 60;

impl Default for GoodfitOptions {
    fn default() -> Self {
        GoodfitOptions {
            paging: Paging::default(),
            signature: None,
            overlap_secs: default_overlap_secs(),
        }
    }
}

/// ASSUMPTION (seed `000_56de87d4110788fc.txt` lists `GET /v1/jobs`,
/// `/v1/jobs/pipeline`, `/v1/candidates` and `/v1/applications` but documents no
/// paging or updated-since filter; provider-facts.md §3 marks both UNKNOWN):
/// every list takes the query parameters `limit`, `cursor` (opaque, from the
/// previous page) and `updated_since` (RFC 3339, inclusive), and answers
/// `{"data": [...], "next_cursor": "..." | null}`; a null or empty
/// `next_cursor` ends the list. A single object (`GET /v1/candidates/{id}`)
/// comes as `{"data": {...}}` or bare. Each name can be overridden, e.g.
/// `[connectors.options.paging] limit = "per_page"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Paging {
    /// Query parameter: page size.
    pub limit: String,
    /// Query parameter: the cursor of the page to read.
    pub cursor: String,
    /// Query parameter: only records updated at or after this instant.
    pub updated_since: String,
    /// Response field holding the page's records.
    pub data: String,
    /// Response field holding the next page's cursor.
    pub next_cursor: String,
}

impl Default for Paging {
    fn default() -> Self {
        Paging {
            limit: "limit".into(),
            cursor: "cursor".into(),
            updated_since: "updated_since".into(),
            data: "data".into(),
            next_cursor: "next_cursor".into(),
        }
    }
}

impl Paging {
    /// Each name with its option key, for validation.
    pub fn named(&self) -> [(&'static str, &str); 5] {
        [
            ("limit", &self.limit),
            ("cursor", &self.cursor),
            ("updated_since", &self.updated_since),
            ("data", &self.data),
            ("next_cursor", &self.next_cursor),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<GoodfitOptions, toml_edit::de::Error> {
        toml_edit::de::from_str(text)
    }

    #[test]
    fn defaults_and_overrides() {
        let o = parse("").unwrap();
        assert_eq!(o, GoodfitOptions::default());
        assert_eq!(o.overlap_secs, 600);
        assert_eq!(o.paging.limit, "limit");
        assert!(o.signature.is_none());
        let o = parse("[paging]\nlimit = \"per_page\"\ndata = \"items\"\n").unwrap();
        assert_eq!(o.paging.limit, "per_page");
        assert_eq!(o.paging.data, "items");
        assert_eq!(o.paging.cursor, "cursor");
        let o = parse(
            r#"
            [signature]
            header = "X-Goodfit-Signature"
            layout = { kind = "plain", prefix = "sha256=" }
            encoding = "hex"
            signed = "body"
            timestamp = { kind = "none" }
            "#,
        )
        .unwrap();
        assert_eq!(o.signature.map(|s| s.tolerance_secs), Some(300));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(parse("pagination = {}").is_err());
        assert!(parse("[paging]\nper_page = \"x\"").is_err());
    }
}
