//! Prometheus metrics (MON-2), kept per application instance so that tests running several
//! applications in one process do not mix their numbers. Rendered in the text exposition format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Debug, Default)]
pub struct Metrics {
    /// Responses by status class: 1xx…5xx.
    responses: [AtomicU64; 5],
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    logins_succeeded: AtomicU64,
    logins_failed: AtomicU64,
}

impl Metrics {
    pub fn observe(&self, status: u16, elapsed: Duration) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.responses[class].fetch_add(1, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn login(&self, ok: bool) {
        let counter = if ok { &self.logins_succeeded } else { &self.logins_failed };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition format. `extra` series read at scrape time — (name, help, type, value) —
    /// are appended.
    pub fn render(&self, extra: &[(&str, &str, &str, f64)]) -> String {
        let mut out = String::new();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        out.push_str("# HELP kura_http_responses_total HTTP responses by status class.\n");
        out.push_str("# TYPE kura_http_responses_total counter\n");
        for (i, c) in self.responses.iter().enumerate() {
            let _ = writeln!(out, "kura_http_responses_total{{class=\"{}xx\"}} {}", i + 1, load(c));
        }
        out.push_str("# HELP kura_http_request_duration_seconds Time to produce a response.\n");
        out.push_str("# TYPE kura_http_request_duration_seconds histogram\n");
        for (bound, c) in BUCKETS.iter().zip(&self.latency_buckets) {
            let _ = writeln!(out, "kura_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {}", load(c));
        }
        let count = load(&self.latency_count);
        let _ = writeln!(out, "kura_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "kura_http_request_duration_seconds_sum {}", load(&self.latency_sum_micros) as f64 / 1e6);
        let _ = writeln!(out, "kura_http_request_duration_seconds_count {count}");
        out.push_str("# HELP kura_logins_total Sign-in attempts by outcome.\n");
        out.push_str("# TYPE kura_logins_total counter\n");
        let _ = writeln!(out, "kura_logins_total{{outcome=\"success\"}} {}", load(&self.logins_succeeded));
        let _ = writeln!(out, "kura_logins_total{{outcome=\"failure\"}} {}", load(&self.logins_failed));
        for (name, help, kind, value) in extra {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mon_2_metrics_render_in_prometheus_format() {
        let m = Metrics::default();
        m.observe(200, Duration::from_millis(3));
        m.observe(503, Duration::from_millis(300));
        let text = m.render(&[("kura_up", "Whether the database answers.", "gauge", 1.0)]);
        assert!(text.contains("kura_http_responses_total{class=\"2xx\"} 1"));
        assert!(text.contains("kura_http_responses_total{class=\"5xx\"} 1"));
        assert!(text.contains("kura_http_request_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("kura_http_request_duration_seconds_count 2"));
        assert!(text.contains("kura_up 1"));
    }
}
