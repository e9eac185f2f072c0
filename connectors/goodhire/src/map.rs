//! GoodHire objects onto canonical background checks: a report (seed
//! `001_9bab87cc4353b0db.txt`, "Report") and an Ongoing Alerts subscription
//! ("Subscription"). Only the fields named here reach typed columns or events;
//! the raw object goes to `remote_data`, where the daemon's redaction removes
//! the SSN, date of birth, licence numbers and unkept address fields.

use hirebridge_sdk::{
    BackgroundCheck, BackgroundCheckKind, BackgroundCheckResult, BackgroundCheckStatus,
    MonitoringResult, RecordMeta, RequiredAction,
};
use serde_json::Value;

/// The remote id prefix of a subscription. ASSUMPTION (seed
/// `001_9bab87cc4353b0db.txt` gives reports and subscriptions each their own
/// GUIDs, with nothing telling them apart): a report's remote id is its `Id`
/// as sent, a subscription's is `subscription:<Id>`; `hirebridge import`
/// lists subscriptions with that prefix.
pub const SUBSCRIPTION_PREFIX: &str = "subscription:";

/// Why an object could not be mapped. Messages name fields, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("the GoodHire {object} is not a JSON object")]
    NotAnObject { object: &'static str },
    #[error("the GoodHire {object} has no `Id`")]
    MissingId { object: &'static str },
    #[error("the GoodHire {object}'s `{field}` is not {expected}")]
    WrongType {
        object: &'static str,
        field: &'static str,
        expected: &'static str,
    },
}

/// The canonical status of a report from `Status` and `StatusDetails`.
/// Completed, canceled and expired reports are final; anything that waits on
/// the candidate or the employer is `pending_input`; the rest (`New`,
/// `Processing`, consent review by GoodHire, `Locked`, a value GoodHire adds
/// later) is `processing`, so a refresh keeps reading it.
pub fn report_status(status: Option<&str>, details: Option<&str>) -> BackgroundCheckStatus {
    use BackgroundCheckStatus as S;
    match (status.unwrap_or(""), details.unwrap_or("")) {
        ("CompletedClear", _) => S::Clear,
        ("CompletedAlert", _) => S::Alert,
        ("Canceled", _) => S::Canceled,
        ("Expired", _) => S::Expired,
        (_, "Clear") => S::Clear,
        (_, "Alert") => S::Alert,
        ("MissingInput" | "RequiresAdditionalInfo", _) => S::PendingInput,
        (
            _,
            "AwaitingInput"
            | "MissingInfo"
            | "AwaitingConfirmation"
            | "AwaitingConsent"
            | "AwaitingCountyFee"
            | "AwaitingDrugTestScheduling",
        ) => S::PendingInput,
        _ => S::Processing,
    }
}

fn result_of(text: Option<&str>) -> Option<BackgroundCheckResult> {
    match text? {
        "Clear" | "CompletedClear" => Some(BackgroundCheckResult::Clear),
        "Alert" | "CompletedAlert" => Some(BackgroundCheckResult::Consider),
        _ => None,
    }
}

fn str_at<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn owned(v: &Value, key: &str) -> Option<String> {
    str_at(v, key).map(str::to_string)
}

fn id_of(raw: &Value, object: &'static str) -> Result<String, MapError> {
    match raw.get("Id") {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        None | Some(Value::Null) => Err(MapError::MissingId { object }),
        Some(_) => Err(MapError::WrongType {
            object,
            field: "Id",
            expected: "a string",
        }),
    }
}

fn list<'v>(
    raw: &'v Value,
    object: &'static str,
    field: &'static str,
) -> Result<&'v [Value], MapError> {
    match raw.get(field) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(MapError::WrongType {
            object,
            field,
            expected: "a list",
        }),
    }
}

/// A report (`GET /v1/Report/{id}`, or a webhook's `ReportStatus`).
pub fn report(raw: &Value) -> Result<BackgroundCheck, MapError> {
    const OBJ: &str = "report";
    if !raw.is_object() {
        return Err(MapError::NotAnObject { object: OBJ });
    }
    let id = id_of(raw, OBJ)?;
    let status_text = str_at(raw, "Status");
    let details = str_at(raw, "StatusDetails");
    let status = report_status(status_text, details);
    let alert_sections = list(raw, OBJ, "SectionsContainingAlerts")?
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    let required_actions = list(raw, OBJ, "RequiredReportActions")?
        .iter()
        .map(|a| RequiredAction {
            r#type: owned(a, "Type"),
            description: owned(a, "Description"),
            url: owned(a, "Url"),
            candidate_url: owned(a, "UrlCandidate"),
        })
        .collect();
    let candidate = raw.get("Candidate").unwrap_or(&Value::Null);
    Ok(BackgroundCheck {
        meta: RecordMeta {
            remote_id: id,
            remote_data: raw.clone(),
            ..RecordMeta::default()
        },
        candidate_remote_id: None,
        candidate_email: owned(candidate, "Email"),
        kind: Some(BackgroundCheckKind::Report),
        package: None,
        status: Some(status),
        result: match status {
            BackgroundCheckStatus::Clear => Some(BackgroundCheckResult::Clear),
            BackgroundCheckStatus::Alert => Some(BackgroundCheckResult::Consider),
            _ => None,
        },
        ordered_at: None,
        completed_at: None,
        alert_sections,
        required_actions,
        viewer_url: owned(raw, "ReportViewerUrl"),
        results: Vec::new(),
    })
}

/// An Ongoing Alerts subscription (`GET /v1/Subscription/{id}`). An active
/// subscription keeps running, so it stays `processing` (and is refreshed);
/// an inactive one is `canceled`. `candidate_email` comes from its report,
/// when the caller read it.
pub fn subscription(
    raw: &Value,
    candidate_email: Option<String>,
) -> Result<BackgroundCheck, MapError> {
    const OBJ: &str = "subscription";
    if !raw.is_object() {
        return Err(MapError::NotAnObject { object: OBJ });
    }
    let id = id_of(raw, OBJ)?;
    let active = match raw.get("IsActive") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(MapError::WrongType {
                object: OBJ,
                field: "IsActive",
                expected: "true or false",
            })
        }
    };
    let results = list(raw, OBJ, "Results")?
        .iter()
        .map(|r| MonitoringResult {
            date: owned(r, "Date"),
            status: owned(r, "Status"),
        })
        .collect();
    let ordered_at = str_at(raw, "StartedOn")
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    Ok(BackgroundCheck {
        meta: RecordMeta {
            remote_id: format!("{SUBSCRIPTION_PREFIX}{id}"),
            remote_data: raw.clone(),
            ..RecordMeta::default()
        },
        candidate_remote_id: None,
        candidate_email,
        kind: Some(BackgroundCheckKind::Monitoring),
        package: None,
        status: Some(if active {
            BackgroundCheckStatus::Processing
        } else {
            BackgroundCheckStatus::Canceled
        }),
        result: result_of(str_at(raw, "LastStatus")),
        ordered_at,
        completed_at: None,
        alert_sections: Vec::new(),
        required_actions: Vec::new(),
        // The seed writes both `ReportUrl` (examples) and `ReportURL` (attributes).
        viewer_url: owned(raw, "ReportUrl").or_else(|| owned(raw, "ReportURL")),
        results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use BackgroundCheckStatus as S;

    #[test]
    fn every_documented_status_maps() {
        let cases = [
            ("New", "New", S::Processing),
            ("Processing", "", S::Processing),
            ("MissingInput", "AwaitingInput", S::PendingInput),
            (
                "RequiresAdditionalInfo",
                "AwaitingConsentReview",
                S::PendingInput,
            ),
            ("Processing", "AwaitingConsent", S::PendingInput),
            ("Processing", "AwaitingConsentReview", S::Processing),
            ("Processing", "Locked", S::Processing),
            ("CompletedClear", "Clear", S::Clear),
            ("CompletedAlert", "Alert", S::Alert),
            ("Canceled", "CanceledOrExpired", S::Canceled),
            ("Expired", "CanceledOrExpired", S::Expired),
            ("SomethingNew", "", S::Processing),
        ];
        for (status, details, want) in cases {
            assert_eq!(
                report_status(Some(status), Some(details)),
                want,
                "{status}/{details}"
            );
        }
    }
}
