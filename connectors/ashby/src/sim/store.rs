//! The simulator's in-memory object store: one id-ordered table per object type,
//! a global change sequence, opaque cursors and sync tokens, and keyset paging.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// One stored object, kept serialized (one allocation; pages are served by
/// concatenation) with the few fields listings filter on extracted.
pub(crate) struct Entry {
    pub json: Box<str>,
    /// Values at the object type's [`indexed`] pointers, in that order.
    pub keys: Vec<Value>,
    /// Change sequence of its last create/update.
    pub seq: u64,
    /// `createdAt` in ms, for `createdAfter`.
    pub created_ms: i64,
}

/// All live objects of one type.
#[derive(Default)]
pub(crate) struct Table {
    pub rows: BTreeMap<String, Entry>,
    /// (seq, id) of every live row, for incremental listings.
    pub changes: BTreeSet<(u64, String)>,
}

/// Every table plus the global change sequence and the token epoch.
pub(crate) struct Store {
    tables: BTreeMap<&'static str, Table>,
    /// Bumped on every create, update and delete.
    pub seq: u64,
    /// Bumped by `expire_sync_tokens`; tokens from older epochs are expired.
    pub epoch: u64,
}

impl Store {
    pub fn new() -> Store {
        Store {
            tables: super::OBJECT_TYPES
                .iter()
                .map(|o| (*o, Table::default()))
                .collect(),
            seq: 0,
            epoch: 0,
        }
    }

    pub fn table(&self, object: &str) -> Option<&Table> {
        self.tables.get(object)
    }

    pub fn raw(&self, object: &str, id: &str) -> Option<&str> {
        self.table(object)?.rows.get(id).map(|e| &*e.json)
    }

    pub fn value(&self, object: &str, id: &str) -> Option<Value> {
        serde_json::from_str(self.raw(object, id)?).ok()
    }

    /// Inserts (or replaces) an object with a fresh change sequence.
    pub fn insert(&mut self, object: &str, id: String, created_ms: i64, value: Value) {
        let keys = keys_of(object, &value);
        self.insert_raw(object, id, created_ms, value.to_string(), keys);
    }

    /// Inserts an already serialized object; `keys` are its values at the type's
    /// [`indexed`] pointers.
    pub fn insert_raw(
        &mut self,
        object: &str,
        id: String,
        created_ms: i64,
        json: String,
        keys: Vec<Value>,
    ) {
        self.seq += 1;
        let seq = self.seq;
        let Some(table) = self.tables.get_mut(object) else {
            return;
        };
        if let Some(old) = table.rows.get(&id) {
            table.changes.remove(&(old.seq, id.clone()));
        }
        table.changes.insert((seq, id.clone()));
        table.rows.insert(
            id,
            Entry {
                json: json.into_boxed_str(),
                keys,
                seq,
                created_ms,
            },
        );
    }

    /// Applies `f` to an object, bumps its `updatedAt` (if it has the field) and its
    /// change sequence. False when there is no such object.
    pub fn update(&mut self, object: &str, id: &str, f: impl FnOnce(&mut Value)) -> bool {
        let Some(table) = self.tables.get_mut(object) else {
            return false;
        };
        let Some(entry) = table.rows.get_mut(id) else {
            return false;
        };
        let Ok(mut value) = serde_json::from_str::<Value>(&entry.json) else {
            return false;
        };
        self.seq += 1;
        f(&mut value);
        if let Some(obj) = value.as_object_mut() {
            if obj.contains_key("updatedAt") {
                obj.insert("updatedAt".into(), Value::String(super::data::ts(now_ms())));
            }
        }
        entry.keys = keys_of(object, &value);
        entry.json = value.to_string().into_boxed_str();
        table.changes.remove(&(entry.seq, id.to_string()));
        entry.seq = self.seq;
        table.changes.insert((self.seq, id.to_string()));
        true
    }

    pub fn delete(&mut self, object: &str, id: &str) -> bool {
        let Some(table) = self.tables.get_mut(object) else {
            return false;
        };
        let Some(entry) = table.rows.remove(id) else {
            return false;
        };
        table.changes.remove(&(entry.seq, id.to_string()));
        self.seq += 1;
        true
    }

    /// The stages of an interview plan, in plan order.
    pub fn plan_stages(&self, plan_id: &str) -> Vec<Value> {
        let mut stages: Vec<Value> = self
            .table("interviewStage")
            .map(|t| {
                t.rows
                    .values()
                    .filter_map(|e| serde_json::from_str::<Value>(&e.json).ok())
                    .filter(|v| v["interviewPlanId"] == plan_id)
                    .collect()
            })
            .unwrap_or_default();
        stages.sort_by_key(|v| v["orderInInterviewPlan"].as_i64().unwrap_or(0));
        stages
    }

    /// The first stage of `stage_type` in the plan of an application's current stage.
    pub fn stage_of_type_for_application(
        &self,
        application_id: &str,
        stage_type: &str,
    ) -> Option<Value> {
        let app = self.value("application", application_id)?;
        let plan = app["currentInterviewStage"]["interviewPlanId"].as_str()?;
        self.plan_stages(plan)
            .into_iter()
            .find(|s| s["type"] == stage_type)
    }

    /// One page of a listing, ordered by id, after `after`, filtered.
    ///
    /// With `since`, only objects changed after that sequence. Returns the page and
    /// whether more data follows it.
    pub fn page(
        &self,
        object: &str,
        since: Option<u64>,
        after: Option<&str>,
        limit: usize,
        filter: &Filter,
    ) -> (Vec<(&str, &str)>, bool) {
        let Some(table) = self.table(object) else {
            return (Vec::new(), false);
        };
        let mut out: Vec<(&str, &str)> = Vec::with_capacity(limit + 1);
        match since {
            None => {
                let lower = match after {
                    Some(a) => Bound::Excluded(a),
                    None => Bound::Unbounded,
                };
                for (id, entry) in table
                    .rows
                    .range::<str, _>((lower, Bound::Unbounded))
                    .filter(|(_, e)| filter.matches(e))
                    .take(limit + 1)
                {
                    out.push((id.as_str(), &*entry.json));
                }
            }
            Some(since) => {
                let mut ids = self.changed_ids(table, since);
                ids.sort_unstable();
                let start = match after {
                    Some(a) => ids.partition_point(|id| *id <= a),
                    None => 0,
                };
                for id in &ids[start..] {
                    if let Some(entry) = table.rows.get(*id) {
                        if filter.matches(entry) {
                            out.push((id, &*entry.json));
                            if out.len() > limit {
                                break;
                            }
                        }
                    }
                }
            }
        }
        let more = out.len() > limit;
        out.truncate(limit);
        (out, more)
    }

    /// How many objects an incremental listing since `since` would return.
    pub fn count_changed(&self, object: &str, since: u64, filter: &Filter) -> usize {
        let Some(table) = self.table(object) else {
            return 0;
        };
        self.changed_ids(table, since)
            .into_iter()
            .filter(|id| table.rows.get(*id).is_some_and(|e| filter.matches(e)))
            .count()
    }

    fn changed_ids<'a>(&self, table: &'a Table, since: u64) -> Vec<&'a str> {
        table
            .changes
            .range((
                Bound::Excluded((since, String::from("\u{10FFFF}"))),
                Bound::Unbounded,
            ))
            .filter(|(seq, _)| *seq > since)
            .map(|(_, id)| id.as_str())
            .collect()
    }

    /// Every live object of a type that passes the filter, by id.
    pub fn all(&self, object: &str, filter: &Filter) -> Vec<&Entry> {
        self.table(object)
            .map(|t| t.rows.values().filter(|e| filter.matches(e)).collect())
            .unwrap_or_default()
    }
}

/// The JSON pointers listings of an object type filter or sort on.
pub(crate) fn indexed(object: &str) -> &'static [&'static str] {
    match object {
        "application" => &["/status", "/job/id"],
        "job" => &["/status"],
        "interviewSchedule" => &["/applicationId", "/interviewStageId"],
        "offer" => &[
            "/applicationId",
            "/offerStatus",
            "/acceptanceStatus",
            "/latestVersion/approvalStatus",
        ],
        "applicationFeedback" => &["/applicationId"],
        "jobPosting" => &[
            "/locationName",
            "/departmentName",
            "/jobBoardId",
            "/isListed",
        ],
        "user" => &["/isEnabled"],
        "department"
        | "location"
        | "interviewPlan"
        | "source"
        | "archiveReason"
        | "candidateTag"
        | "customField"
        | "feedbackFormDefinition" => &["/isArchived"],
        "interviewStage" => &["/interviewPlanId", "/orderInInterviewPlan"],
        _ => &[],
    }
}

fn keys_of(object: &str, value: &Value) -> Vec<Value> {
    indexed(object)
        .iter()
        .map(|p| value.pointer(p).cloned().unwrap_or(Value::Null))
        .collect()
}

impl Entry {
    /// The value at one of its type's [`indexed`] pointers (Null if not indexed).
    pub fn key(&self, object: &str, pointer: &str) -> &Value {
        indexed(object)
            .iter()
            .position(|p| *p == pointer)
            .and_then(|i| self.keys.get(i))
            .unwrap_or(&Value::Null)
    }
}

/// A condition on one field (by JSON pointer): its value must (or, negated, must not)
/// be one of `values`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct Cond {
    #[serde(rename = "p")]
    pub pointer: String,
    #[serde(rename = "v")]
    pub values: Vec<Value>,
    #[serde(rename = "n", default, skip_serializing_if = "std::ops::Not::not")]
    pub negate: bool,
}

/// The filters of a listing; carried in its cursors. Conditions may only use the
/// object type's [`indexed`] pointers.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct Filter {
    /// Object type (resolves condition pointers); not serialized, cursors carry it.
    #[serde(skip)]
    pub object: &'static str,
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub created_after: Option<i64>,
    #[serde(rename = "q", default, skip_serializing_if = "Vec::is_empty")]
    pub conds: Vec<Cond>,
}

impl Filter {
    pub fn matches(&self, entry: &Entry) -> bool {
        if self
            .created_after
            .is_some_and(|after| entry.created_ms <= after)
        {
            return false;
        }
        self.conds.iter().all(|c| {
            let v = entry.key(self.object, &c.pointer);
            c.values.contains(v) != c.negate
        })
    }
}

/// What a sync token encodes.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Token {
    /// Object type.
    pub o: String,
    /// Global sequence the next incremental listing starts after.
    pub s: u64,
    /// Issued at, ms.
    pub t: i64,
    /// Token epoch at issue.
    pub e: u64,
}

/// What a cursor encodes.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Cursor {
    /// Object type.
    pub o: String,
    /// Last id returned.
    pub l: String,
    /// Sequence an incremental listing filters on (None for a full listing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub f: Option<u64>,
    /// Global sequence when the listing's first page was served.
    pub s: u64,
    /// Issued at, ms.
    pub t: i64,
    /// The listing's filters.
    #[serde(default)]
    pub q: Filter,
}

pub(crate) fn encode<T: Serialize>(value: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("token serialization is infallible"))
}

pub(crate) fn decode<T: for<'de> Deserialize<'de>>(text: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}
