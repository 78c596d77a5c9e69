//! Retention: when a closed case's client data is removed (`polku store retain`), what it
//! leaves is its segment history at the resolution of the reports — the day it opened and
//! closed, its segmentation and unit, and the segment it had at the end of each day — with no
//! case id, client, step or fact. Identical histories are kept once with their count. The
//! distribution and transition reports add these to the cases still held, so that they count
//! exactly what they counted before the removal.

use serde::{Deserialize, Serialize};

use crate::case::Kind;
use crate::names::NONE;
use crate::projection::{CaseEntry, Projection};
use crate::time::{days_from_civil, Timestamp};

/// The day a moment falls on in Finnish time, as days from 1970-01-01: a report for a date
/// counts what had happened by the end of that day, that is, on or before it.
pub fn local_day(at: i64) -> i64 {
    let (y, m, d) = Timestamp(at).local_date();
    days_from_civil(y, m, d)
}

/// What a removed case leaves (see the module's documentation).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RetainedHistory {
    pub segmentation: String,
    pub unit: String,
    /// The day it opened and the day it closed ([`local_day`]).
    pub opened: i64,
    pub closed: i64,
    /// The segment it was opened with.
    pub segment: String,
    /// Each later decision on its segment: the day and the segment, in order.
    pub changes: Vec<(i64, String)>,
}

impl RetainedHistory {
    /// Open at the end of `day`.
    pub fn open_on(&self, day: i64) -> bool {
        self.opened <= day && self.closed > day
    }

    /// The segment at the end of `day`.
    pub fn segment_on(&self, day: i64) -> &str {
        self.changes
            .iter()
            .take_while(|(d, _)| *d <= day)
            .last()
            .map_or(self.segment.as_str(), |(_, s)| s.as_str())
    }
}

impl Projection {
    /// The history a closed case leaves; `None` for a case not opened or not closed.
    pub fn retained_history(&self, case: &CaseEntry) -> Option<RetainedHistory> {
        let exec =
            self.versions.get(usize::from(case.version))?.execs.get(usize::from(case.exec))?;
        case.rt.as_ref()?;
        let closed =
            case.events.iter().filter(|e| e.kind == Kind::CaseClosed).map(|e| e.occurred).min()?;
        let name = |id: u32| self.names.get(id).to_owned();
        let changes = case
            .events
            .iter()
            .filter(|e| matches!(e.kind, Kind::SegmentAssessed | Kind::SegmentChanged))
            .filter(|e| exec.segments.is_empty() || exec.segments.contains(&e.a))
            .map(|e| (local_day(e.occurred), name(e.a)))
            .collect();
        Some(RetainedHistory {
            segmentation: if exec.segmentation == NONE {
                String::new()
            } else {
                name(exec.segmentation)
            },
            unit: name(case.unit),
            opened: local_day(case.opening.opened),
            closed: local_day(closed),
            segment: name(case.opening.segment),
            changes,
        })
    }

    /// The cases closed before the cut-off that `cutoff` gives for their unit (a moment;
    /// `None`: the unit's cases are kept).
    pub fn expired_cases(&self, cutoff: impl Fn(&str) -> Option<i64>) -> Vec<&CaseEntry> {
        self.cases
            .iter()
            .filter(|case| {
                let Some(closed) = case.rt.as_ref().and_then(|rt| rt.closed) else { return false };
                cutoff(self.names.get(case.unit)).is_some_and(|at| closed < at)
            })
            .collect()
    }
}
