//! Prometheus metrics (MON-2), kept per application instance so that tests running several
//! applications in one process do not mix their numbers: each `Metrics` owns a recorder of
//! `metrics-exporter-prometheus` (not installed as the process-wide one), which renders the text
//! exposition format.

use metrics::{Counter, Histogram, Key, Label, Level, Metadata, Recorder, SharedString};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use std::fmt;
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

static METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// What a series read at scrape time is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

pub struct Metrics {
    recorder: PrometheusRecorder,
    /// Responses by status class: 1xx…5xx.
    responses: [Counter; 5],
    latency: Histogram,
    logins_succeeded: Counter,
    logins_failed: Counter,
    decryption_refusals: Counter,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        // The buckets are a fixed, non-empty list, which is all `set_buckets` refuses.
        let builder = PrometheusBuilder::new();
        let builder = builder.set_buckets(&BUCKETS).unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let describe = |name: &'static str, help: &'static str| {
            recorder.describe_counter(name.into(), None, SharedString::const_str(help));
        };
        describe("kura_http_responses_total", "HTTP responses by status class.");
        describe("kura_logins_total", "Sign-in attempts by outcome.");
        describe(
            "kura_decryption_refusals_total",
            "Requests refused because a stored value did not open under its tenant's key (DAT-2).",
        );
        recorder.describe_histogram(
            "kura_http_request_duration_seconds".into(),
            None,
            SharedString::const_str("Time to produce a response."),
        );
        let counter = |name: &'static str, label: &'static str, value: &'static str| {
            recorder.register_counter(&Key::from_parts(name, vec![Label::from_static_parts(label, value)]), &METADATA)
        };
        let responses = ["1xx", "2xx", "3xx", "4xx", "5xx"].map(|c| counter("kura_http_responses_total", "class", c));
        let latency =
            recorder.register_histogram(&Key::from_static_name("kura_http_request_duration_seconds"), &METADATA);
        Self {
            responses,
            latency,
            logins_succeeded: counter("kura_logins_total", "outcome", "success"),
            logins_failed: counter("kura_logins_total", "outcome", "failure"),
            decryption_refusals: recorder
                .register_counter(&Key::from_static_name("kura_decryption_refusals_total"), &METADATA),
            recorder,
        }
    }
}

impl Metrics {
    pub fn observe(&self, status: u16, elapsed: Duration) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.responses[class].increment(1);
        self.latency.record(elapsed.as_secs_f64());
    }

    pub fn login(&self, ok: bool) {
        let counter = if ok { &self.logins_succeeded } else { &self.logins_failed };
        counter.increment(1);
    }

    /// A request answered with an error because a stored value did not open.
    pub fn decryption_refused(&self) {
        self.decryption_refusals.increment(1);
    }

    /// The text exposition format, with `extra` series read at scrape time — (name, help, kind,
    /// value) — set first.
    pub fn render(&self, extra: &[(&'static str, &'static str, Kind, f64)]) -> String {
        for &(name, help, kind, value) in extra {
            let key = Key::from_static_name(name);
            match kind {
                Kind::Counter => {
                    self.recorder.describe_counter(name.into(), None, SharedString::const_str(help));
                    self.recorder.register_counter(&key, &METADATA).absolute(value as u64);
                }
                Kind::Gauge => {
                    self.recorder.describe_gauge(name.into(), None, SharedString::const_str(help));
                    self.recorder.register_gauge(&key, &METADATA).set(value);
                }
            }
        }
        self.recorder.handle().render()
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
        m.login(false);
        let text = m.render(&[
            ("kura_up", "Whether the database answers.", Kind::Gauge, 1.0),
            ("kura_store_reads_total", "Read operations.", Kind::Counter, 7.0),
        ]);
        assert!(text.contains("kura_http_responses_total{class=\"2xx\"} 1"), "{text}");
        assert!(text.contains("kura_http_responses_total{class=\"5xx\"} 1"));
        assert!(text.contains("kura_http_responses_total{class=\"4xx\"} 0"), "every class is there from the start");
        assert!(text.contains("kura_http_request_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("kura_http_request_duration_seconds_count 2"));
        assert!(text.contains("# TYPE kura_http_request_duration_seconds histogram"));
        assert!(text.contains("kura_logins_total{outcome=\"failure\"} 1"));
        assert!(text.contains("# HELP kura_up Whether the database answers."));
        assert!(text.contains("kura_up 1"));
        assert!(text.contains("# TYPE kura_store_reads_total counter"));
        assert!(text.contains("kura_store_reads_total 7"));
    }

    #[test]
    fn mon_2_applications_keep_their_own_numbers() {
        let (a, b) = (Metrics::default(), Metrics::default());
        a.login(true);
        assert!(a.render(&[]).contains("kura_logins_total{outcome=\"success\"} 1"));
        assert!(b.render(&[]).contains("kura_logins_total{outcome=\"success\"} 0"));
    }
}
