//! GoodHire webhook bodies (seed `001_9bab87cc4353b0db.txt`, "Webhooks"):
//! `{"Id": "<webhook id>", "ReportStatus": {<the updated report>}}`. The `Id`
//! deduplicates GoodHire's retries (after 2, 4, 6, 8, then every 12 hours, for
//! up to 10 days, until it gets a 200).

use crate::map;
use hirebridge_sdk::{ConnectorError, Inbound, Record};
use serde_json::Value;

/// The event name recorded for every delivery (GoodHire sends one kind).
pub const EVENT: &str = "ReportStatus";

/// The webhook's own `Id`, the delivery id.
pub fn delivery_id(body: &Value) -> Option<String> {
    body.get("Id")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
}

/// The canonical change a delivery carries: the report, whole.
pub fn parse(body: &Value) -> Result<Vec<Inbound>, ConnectorError> {
    let report = body
        .get("ReportStatus")
        .ok_or_else(|| ConnectorError::bad_payload("the GoodHire webhook has no `ReportStatus`"))?;
    let check = map::report(report).map_err(|e| ConnectorError::bad_payload(e.to_string()))?;
    Ok(vec![Inbound::Upsert(Box::new(Record::BackgroundCheck(
        check,
    )))])
}
