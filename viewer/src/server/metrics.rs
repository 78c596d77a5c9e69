//! `/metrics` in Prometheus's text format: requests by route and status, their latency, the
//! events stored over the API and the open cases now.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5];

#[derive(Debug, Default)]
struct Route {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<String, Route>>,
    events: AtomicU64,
}

impl Metrics {
    pub fn observe(&self, route: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        if !routes.contains_key(route) {
            routes.insert(route.to_owned(), Route::default());
        }
        let Some(entry) = routes.get_mut(route) else { return };
        *entry.by_status.entry(status).or_default() += 1;
        entry.count += 1;
        entry.sum += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                entry.buckets[i] += 1;
            }
        }
    }

    pub fn events(&self, stored: u64) {
        self.events.fetch_add(stored, Ordering::Relaxed);
    }

    pub fn render(&self, open_cases: u64) -> String {
        let mut out = String::new();
        let routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        out.push_str("# HELP polku_http_requests_total Requests by route and status.\n");
        out.push_str("# TYPE polku_http_requests_total counter\n");
        for (route, r) in routes.iter() {
            for (status, n) in &r.by_status {
                let _ = writeln!(
                    out,
                    "polku_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP polku_http_request_seconds Request latency by route.\n");
        out.push_str("# TYPE polku_http_request_seconds histogram\n");
        for (route, r) in routes.iter() {
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "polku_http_request_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                    r.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "polku_http_request_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                r.count
            );
            let _ = writeln!(out, "polku_http_request_seconds_sum{{route=\"{route}\"}} {}", r.sum);
            let _ =
                writeln!(out, "polku_http_request_seconds_count{{route=\"{route}\"}} {}", r.count);
        }
        out.push_str("# HELP polku_events_stored_total Events stored over the API.\n");
        out.push_str("# TYPE polku_events_stored_total counter\n");
        let _ = writeln!(out, "polku_events_stored_total {}", self.events.load(Ordering::Relaxed));
        out.push_str("# HELP polku_open_cases Cases open now.\n");
        out.push_str("# TYPE polku_open_cases gauge\n");
        let _ = writeln!(out, "polku_open_cases {open_cases}");
        out
    }
}
