//! Marker rules (`merkkisäännöt`): a client's segment proposed from the markers the record
//! systems hold (diagnoses, visit codes, social-care service codes, named markers), as of a day.
//!
//! A client's rows are reduced to what the rules read (which condition a row counts for, and
//! its day), so the state is per client and bounded by the rows within the retention time.

pub mod extract;

use polku_dsl::ast;
use serde::Serialize;

use crate::plan::approximate_days;

/// One condition, compiled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    /// `merkki` for a named marker.
    pub system: String,
    pub codes: Vec<String>,
    /// At least this many rows (1 for `koodi` and `merkki`).
    pub at_least: u32,
    /// Rows of the last this many days count.
    pub days: i64,
}

impl Condition {
    /// Whether a row of `system` and `code` counts for the condition: the code is one of the
    /// condition's, or, in the hierarchical classifications (ICD-10, ICPC-2), under one (`F3`
    /// covers `F32.1`). Visit and service codes and named markers match exactly.
    pub fn counts(&self, system: &str, code: &str) -> bool {
        if self.system != system {
            return false;
        }
        let hierarchical = matches!(system, "ICD10" | "ICPC2");
        self.codes
            .iter()
            .any(|c| if hierarchical { code.starts_with(c.as_str()) } else { code == c })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub segment: String,
    pub conditions: Vec<Condition>,
    pub priority: Option<u32>,
}

/// Compiled marker rules, in the order they are tried: by priority, then as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarkerRules {
    pub name: String,
    pub title: String,
    pub segmentation: Option<String>,
    pub retention_days: i64,
    /// How long a professional's decision on the segment outranks the markers: calendar
    /// months, then days.
    pub assessment_months: u32,
    pub assessment_days: i64,
    pub rules: Vec<Rule>,
    pub otherwise: Option<String>,
}

/// When no `säilytys` is given: two years.
pub const DEFAULT_RETENTION_DAYS: i64 = 730;

/// When no `arvio voimassa` is given: a year.
pub const DEFAULT_ASSESSMENT_MONTHS: u32 = 12;

/// A duration as calendar months (months and years) and days (the rest, a working day as
/// 7/5 of a day).
fn months_and_days(d: &ast::Duration) -> (u32, i64) {
    let mut months = 0u32;
    let mut rest = ast::Duration { parts: Vec::new(), span: d.span };
    for &(amount, unit) in &d.parts {
        match unit {
            ast::TimeUnit::Month => months = months.saturating_add(amount),
            ast::TimeUnit::Year => months = months.saturating_add(amount.saturating_mul(12)),
            _ => rest.parts.push((amount, unit)),
        }
    }
    (months, approximate_days(&rest).round() as i64)
}

fn days(d: &Option<ast::Duration>) -> Option<i64> {
    d.as_ref().map(|d| approximate_days(d).round() as i64)
}

impl MarkerRules {
    pub fn compile(m: &ast::Markers) -> MarkerRules {
        let retention_days = days(&m.retention).unwrap_or(DEFAULT_RETENTION_DAYS);
        let names = |v: &[ast::Name]| v.iter().map(|n| n.text.clone()).collect::<Vec<_>>();
        let mut rules: Vec<Rule> = m
            .rules
            .iter()
            .map(|r| Rule {
                segment: r.segment.text.clone(),
                priority: r.priority,
                conditions: r
                    .conditions
                    .iter()
                    .map(|c| match c {
                        ast::MarkerCondition::Code { system, codes, window } => Condition {
                            system: system.text.clone(),
                            codes: names(codes),
                            at_least: 1,
                            days: days(window).unwrap_or(retention_days),
                        },
                        ast::MarkerCondition::Marker { names: n, window } => Condition {
                            system: "merkki".to_owned(),
                            codes: names(n),
                            at_least: 1,
                            days: days(window).unwrap_or(retention_days),
                        },
                        ast::MarkerCondition::Visits { system, codes, at_least, window } => {
                            Condition {
                                system: system.text.clone(),
                                codes: names(codes),
                                at_least: *at_least,
                                days: days(window).unwrap_or(retention_days),
                            }
                        }
                    })
                    .collect(),
            })
            .collect();
        // Stable: rules of one priority keep their written order; no priority comes last.
        rules.sort_by_key(|r| r.priority.unwrap_or(u32::MAX));
        MarkerRules {
            name: m.name.text.clone(),
            title: m.title.as_ref().map(|t| t.value.clone()).unwrap_or_default(),
            segmentation: m.segmentation.as_ref().map(|s| s.text.clone()),
            retention_days,
            assessment_months: m
                .assessment_valid
                .as_ref()
                .map_or(DEFAULT_ASSESSMENT_MONTHS, |d| months_and_days(d).0),
            assessment_days: m.assessment_valid.as_ref().map_or(0, |d| months_and_days(d).1),
            rules,
            otherwise: m.otherwise.as_ref().map(|s| s.text.clone()),
        }
    }

    /// When a professional's decision made at `at` (a timestamp) stops outranking the markers.
    pub fn decision_expires(&self, at: i64) -> i64 {
        crate::time::Timestamp(at)
            .add_months(i64::from(self.assessment_months))
            .add_days(self.assessment_days)
            .0
    }

    /// Every condition of every rule, numbered in that order.
    pub fn conditions(&self) -> impl Iterator<Item = &Condition> {
        self.rules.iter().flat_map(|r| &r.conditions)
    }

    /// The conditions a row of `row_day` counts for as of `day`, its day within each
    /// condition's window, as bits by condition number.
    pub fn counted_on(&self, system: &str, code: &str, row_day: i64, day: i64) -> u64 {
        let mut mask = 0;
        for (i, c) in self.conditions().enumerate().take(64) {
            if row_day <= day && row_day > day - c.days && c.counts(system, code) {
                mask |= 1 << i;
            }
        }
        mask
    }

    /// The segment proposed from how many rows counted for each condition (by number) on the
    /// day, and the rule that proposed it (`None` for `muuten`). A client's state is these
    /// counts alone, whatever the number of rows.
    pub fn propose_counts(&self, counts: &[u32]) -> (Option<&str>, Option<usize>) {
        let mut at = 0usize;
        for (index, rule) in self.rules.iter().enumerate() {
            let n = rule.conditions.len();
            let holds = rule
                .conditions
                .iter()
                .enumerate()
                .all(|(k, c)| counts.get(at + k).copied().unwrap_or(0) >= c.at_least);
            at += n;
            if holds {
                return (Some(&rule.segment), Some(index));
            }
        }
        (self.otherwise.as_deref(), None)
    }

    /// The conditions (by number) a row counts for.
    pub fn counted_by(&self, system: &str, code: &str) -> Vec<u16> {
        self.conditions()
            .enumerate()
            .filter(|(_, c)| c.counts(system, code))
            .map(|(i, _)| i as u16)
            .collect()
    }

    /// The segment proposed as of `day` (days since 1970) for a client whose rows are
    /// `(day, condition)` pairs, and the rule that proposed it (`None` for `muuten`).
    pub fn propose(&self, day: i64, rows: &[(i64, u16)]) -> (Option<&str>, Option<usize>) {
        let mut at = 0u16;
        for (index, rule) in self.rules.iter().enumerate() {
            let holds = rule.conditions.iter().all(|c| {
                let this = at;
                at += 1;
                let counted = rows
                    .iter()
                    .filter(|(d, i)| *i == this && *d <= day && *d > day - c.days)
                    .count();
                counted >= c.at_least as usize
            });
            // The conditions of a rule that failed early are still numbered.
            at = self.rules[..=index].iter().map(|r| r.conditions.len() as u16).sum();
            if holds {
                return (Some(&rule.segment), Some(index));
            }
        }
        (self.otherwise.as_deref(), None)
    }
}
