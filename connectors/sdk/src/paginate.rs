//! Paginators: the resume state of the two paging styles providers use, kept in
//! the stream's [`Cursor`](crate::Cursor) so a pass resumes where it stopped.
//!
//! - [`CursorPaging`]: an opaque next-page cursor plus an updated-since watermark
//!   (a full pass first, then passes from the newest update seen).
//! - [`PageNumbers`]: `page`/`pageSize` over a list that can change while it is
//!   read, with drift detection so a pass that may have skipped items is not used
//!   to detect deletions.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::{Deserialize, Serialize};

/// Opaque-cursor paging with an updated-since watermark.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorPaging {
    /// The provider's cursor for the next page of the pass in progress.
    pub next: Option<String>,
    /// The pass lists records updated at or after this; `None`: a full pass.
    pub since: Option<DateTime<Utc>>,
    /// The newest update time seen in the pass in progress.
    pub newest: Option<DateTime<Utc>>,
}

impl CursorPaging {
    /// Whether the pass in progress lists everything (so can detect deletions).
    pub fn full_pass(&self) -> bool {
        self.since.is_none()
    }

    /// The state after a page: `next` is the provider's cursor (`None`: the pass
    /// is complete), `newest` the newest update on the page. A complete pass
    /// starts the next one from its newest update minus `overlap`, so a record
    /// updated while the pass ran is read again rather than missed (re-reading an
    /// unchanged record writes nothing).
    pub fn after_page(
        &self,
        next: Option<String>,
        newest: Option<DateTime<Utc>>,
        overlap: ChronoDuration,
    ) -> (CursorPaging, bool) {
        let newest = match (self.newest, newest) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        match next {
            Some(cursor) => (
                CursorPaging {
                    next: Some(cursor),
                    since: self.since,
                    newest,
                },
                false,
            ),
            None => (
                CursorPaging {
                    next: None,
                    since: newest.map(|n| n - overlap).or(self.since),
                    newest: None,
                },
                true,
            ),
        }
    }
}

/// Page-number paging over a list that may change while it is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageNumbers {
    /// The next page to read (1-based).
    pub page: u32,
    /// The list's `total` when the pass read its first page.
    pub total: Option<u64>,
    /// True once `total` moved during the pass: items may have shifted between
    /// pages, so the pass may have skipped some.
    pub drifted: bool,
}

impl Default for PageNumbers {
    fn default() -> Self {
        PageNumbers {
            page: 1,
            total: None,
            drifted: false,
        }
    }
}

impl PageNumbers {
    /// The state after reading page `self.page` with `items` items of at most
    /// `page_size`, the response saying the list holds `total`; and whether the
    /// pass is complete. A complete pass's next state starts again at page 1.
    pub fn after_page(
        &self,
        items: usize,
        page_size: u32,
        total: Option<u64>,
    ) -> (PageNumbers, bool) {
        let first_total = self.total.or(total);
        let drifted =
            self.drifted || (self.total.is_some() && total.is_some() && self.total != total);
        let read = u64::from(self.page) * u64::from(page_size);
        let complete = items < page_size as usize
            || first_total.is_some_and(|t| read >= t.max(total.unwrap_or(0)));
        if complete {
            (PageNumbers::default(), true)
        } else {
            (
                PageNumbers {
                    page: self.page + 1,
                    total: first_total,
                    drifted,
                },
                false,
            )
        }
    }

    /// Whether a pass ending with a page read from `self` saw a stable list, given
    /// the last page's `total`: only then may absent records be taken as deleted.
    pub fn stable(&self, last_total: Option<u64>) -> bool {
        !self.drifted && (self.total.is_none() || last_total.is_none() || self.total == last_total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_paging_moves_the_watermark_only_when_a_pass_completes() {
        let t = |s| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let start = CursorPaging::default();
        assert!(start.full_pass());
        let (mid, done) = start.after_page(
            Some("c2".into()),
            Some(t("2026-01-02T00:00:00Z")),
            ChronoDuration::seconds(60),
        );
        assert!(!done && mid.full_pass() && mid.next.as_deref() == Some("c2"));
        let (next, done) = mid.after_page(
            None,
            Some(t("2026-01-01T00:00:00Z")),
            ChronoDuration::seconds(60),
        );
        assert!(done && !next.full_pass());
        assert_eq!(next.since, Some(t("2026-01-01T23:59:00Z")));
        // An empty incremental pass keeps its watermark.
        let (again, done) = next.after_page(None, None, ChronoDuration::seconds(60));
        assert!(done && again.since == next.since);
    }

    #[test]
    fn page_numbers_detect_a_list_that_moved_mid_pass() {
        let p = PageNumbers::default();
        let (p2, done) = p.after_page(50, 50, Some(120));
        assert!(!done && p2.page == 2 && p2.total == Some(120));
        // A job was added while we read: the total moved.
        let (p3, done) = p2.after_page(50, 50, Some(121));
        assert!(!done && p3.drifted);
        assert!(!p3.stable(Some(121)));
        let steady = PageNumbers {
            page: 3,
            total: Some(120),
            drifted: false,
        };
        assert!(steady.stable(Some(120)));
        let (_, done) = steady.after_page(20, 50, Some(120));
        assert!(done);
    }
}
