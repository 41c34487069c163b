//! Fetching every service's proxy configuration from System and keeping it fresh
//! (docs/behaviour.md §8), as decisions: which calls to send now, and what an answer
//! changes. The shell sends the calls, keeps the time, and logs the messages.

use log::Level;

use super::proxy_config::{self, ProxyConfigError};
use super::request::proxy_config_call;
use super::schedule::Schedule;
use crate::config::Config;
use crate::fetched::FetchedService;
use crate::io::HttpCall;

/// A message for the log.
pub type LogLine = (Level, String);

/// What came back from a fetch: the status and body, or why nothing did.
pub type Answer<'a> = Result<(Option<u16>, &'a [u8]), FetchFailure>;

/// Why a fetch failed; failures of one kind are logged once until it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchFailure {
    /// The call could not be sent.
    Dispatch,
    /// The answer had no usable status (Envoy answers 503 when it cannot connect, 504 on timeout).
    Status(Option<u16>),
    /// The answer was 200 but could not be used.
    BadAnswer(ProxyConfigError),
}

impl FetchFailure {
    fn same_kind(&self, other: &FetchFailure) -> bool {
        match (self, other) {
            (FetchFailure::BadAnswer(_), FetchFailure::BadAnswer(_)) => true,
            _ => self == other,
        }
    }

    fn describe(&self) -> String {
        match self {
            FetchFailure::Dispatch => {
                "the call could not be sent (is the System cluster defined?)".to_owned()
            }
            FetchFailure::Status(Some(504)) => "System did not answer in time (504)".to_owned(),
            // Envoy answers 503 itself when it cannot connect.
            FetchFailure::Status(Some(503)) => {
                "System answered 503 or could not be reached".to_owned()
            }
            FetchFailure::Status(Some(status)) => format!("System answered {status}"),
            FetchFailure::Status(None) => "System's answer had no status".to_owned(),
            FetchFailure::BadAnswer(error) => format!("System's answer is unusable: {error}"),
        }
    }
}

/// What an answer changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// The service's new fetched configuration, when the fetch succeeded.
    pub fetched: Option<FetchedService>,
    /// Messages for the log.
    pub log: Vec<LogLine>,
}

#[derive(Debug, Clone)]
struct ServiceFetch {
    schedule: Schedule,
    last_failure: Option<FetchFailure>,
    last_skipped: Vec<String>,
}

/// The fetch state of every service.
#[derive(Debug, Clone, Default)]
pub struct Fetcher {
    services: Vec<ServiceFetch>,
}

impl Fetcher {
    /// One schedule per service when `system` is configured; none otherwise.
    pub fn new(config: &Config) -> Self {
        let Some(system) = &config.system else {
            return Fetcher::default();
        };
        let fetch = ServiceFetch {
            schedule: Schedule::new(system.ttl),
            last_failure: None,
            last_skipped: Vec::new(),
        };
        Fetcher {
            services: vec![fetch; config.services.len()],
        }
    }

    /// The calls due now, by service index; each is marked as sent.
    pub fn due_calls(&mut self, config: &Config, now_ms: u64) -> Vec<(usize, HttpCall)> {
        self.due_calls_where(config, now_ms, |_| true)
    }

    /// The calls due now of the services `mine` accepts (by index); each is
    /// marked as sent. The others stay due.
    pub fn due_calls_where(
        &mut self,
        config: &Config,
        now_ms: u64,
        mine: impl Fn(usize) -> bool,
    ) -> Vec<(usize, HttpCall)> {
        let Some(system) = &config.system else {
            return Vec::new();
        };
        let mut calls = Vec::new();
        for ((index, fetch), service) in self.services.iter_mut().enumerate().zip(&config.services)
        {
            if fetch.schedule.is_due(now_ms) && mine(index) {
                fetch.schedule.started();
                calls.push((index, proxy_config_call(system, service)));
            }
        }
        calls
    }

    /// Records the answer (or failure) of the fetch for service `index`.
    pub fn answered(
        &mut self,
        config: &Config,
        index: usize,
        answer: Answer<'_>,
        now_ms: u64,
        jitter: f64,
    ) -> Outcome {
        let (Some(fetch), Some(service)) =
            (self.services.get_mut(index), config.services.get(index))
        else {
            return Outcome::default();
        };
        let id = &service.id;
        let result = answer.and_then(|(status, body)| match status {
            Some(200) => proxy_config::parse(body).map_err(FetchFailure::BadAnswer),
            other => Err(FetchFailure::Status(other)),
        });
        let mut log = Vec::new();
        match result {
            Ok(proxy) => {
                fetch.schedule.succeeded(now_ms, jitter);
                if let Some(failure) = fetch.last_failure.take() {
                    log.push((
                        Level::Info,
                        format!(
                            "service {id}: System configuration fetched again after: {}",
                            failure.describe()
                        ),
                    ));
                }
                if proxy.skipped != fetch.last_skipped {
                    log.extend(
                        proxy
                            .skipped
                            .iter()
                            .map(|why| (Level::Warn, format!("service {id}: System {why}"))),
                    );
                    fetch.last_skipped = proxy.skipped;
                }
                log.push((
                    Level::Debug,
                    format!(
                        "service {id}: {} mapping rules fetched from System",
                        proxy.rules.len()
                    ),
                ));
                Outcome {
                    fetched: Some(FetchedService {
                        token: proxy.token,
                        rules: proxy.rules.into(),
                    }),
                    log,
                }
            }
            Err(failure) => {
                fetch.schedule.failed(now_ms, jitter);
                if !fetch
                    .last_failure
                    .as_ref()
                    .is_some_and(|last| last.same_kind(&failure))
                {
                    log.push((
                        Level::Warn,
                        format!(
                            "service {id}: fetching its configuration from System failed: {}; keeping the last good one and retrying",
                            failure.describe()
                        ),
                    ));
                }
                fetch.last_failure = Some(failure);
                Outcome { fetched: None, log }
            }
        }
    }

    /// When the next fetch of any service is due (for the shell's timer).
    pub fn next_due_ms(&self) -> Option<u64> {
        self.services
            .iter()
            .map(|fetch| fetch.schedule.next_at_ms())
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;
    use crate::model::Secret;

    fn config(ttl: u64) -> Config {
        parse(
            format!(
                r#"{{"api": "v1",
                    "system": {{"upstream": {{"name": "system", "url": "https://admin.example.com/"}}, "token": "secret-access", "ttl": {ttl}}},
                    "backend": {{"upstream": {{"name": "b", "url": "https://su1.3scale.net/"}}}},
                    "services": [{{"id": "1", "credentials": {{"user_key": [{{"header": {{"keys": ["k"]}}}}]}}}},
                                 {{"id": "2", "token": "static", "credentials": {{"user_key": [{{"header": {{"keys": ["k"]}}}}]}}}}]}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    const GOOD: &[u8] = br#"{"proxy_config": {"content": {"backend_authentication_type": "service_token", "backend_authentication_value": "fetched-token", "proxy": {"proxy_rules": [{"http_method": "GET", "pattern": "/", "metric_system_name": "hits", "delta": 1}, {"http_method": "GET", "pattern": "bad"}]}}}}"#;

    #[test]
    fn without_system_nothing_is_fetched() {
        let mut config = config(60);
        config.system = None;
        let mut fetcher = Fetcher::new(&config);
        assert!(fetcher.due_calls(&config, 0).is_empty());
        assert_eq!(fetcher.next_due_ms(), None);
    }

    #[test]
    fn every_service_is_fetched_at_start_then_after_the_ttl() {
        let config = config(60);
        let mut fetcher = Fetcher::new(&config);
        let calls = fetcher.due_calls(&config, 1_000);
        assert_eq!(
            calls.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![0, 1]
        );
        assert!(
            calls[1]
                .1
                .header(":path")
                .unwrap()
                .contains("/services/2/proxy/configs/production/latest.json")
        );
        assert!(fetcher.due_calls(&config, 2_000).is_empty(), "in flight");
        let outcome = fetcher.answered(&config, 0, Ok((Some(200), GOOD)), 2_000, 0.0);
        let fetched = outcome.fetched.unwrap();
        assert_eq!(
            fetched.token.as_ref().map(Secret::expose),
            Some("fetched-token")
        );
        assert_eq!(fetched.rules.len(), 1);
        assert!(
            outcome
                .log
                .iter()
                .any(|(level, line)| *level == Level::Warn
                    && line.contains("proxy_rules[1] skipped"))
        );
        assert!(
            fetcher
                .due_calls(&config, 61_999)
                .iter()
                .all(|(i, _)| *i != 0)
        );
        assert_eq!(
            fetcher.due_calls(&config, 62_000).first().map(|(i, _)| *i),
            Some(0)
        );
    }

    #[test]
    fn skipped_rules_are_logged_only_when_they_change() {
        let config = config(60);
        let mut fetcher = Fetcher::new(&config);
        fetcher.due_calls(&config, 0);
        let first = fetcher.answered(&config, 0, Ok((Some(200), GOOD)), 0, 0.0);
        assert!(first.log.iter().any(|(level, _)| *level == Level::Warn));
        fetcher.due_calls(&config, 60_000);
        let second = fetcher.answered(&config, 0, Ok((Some(200), GOOD)), 60_000, 0.0);
        assert!(
            second.log.iter().all(|(level, _)| *level != Level::Warn),
            "{:?}",
            second.log
        );
    }

    #[test]
    fn failures_keep_the_last_good_data_and_are_logged_once_per_kind() {
        let config = config(600);
        let mut fetcher = Fetcher::new(&config);
        let mut now = 0;
        let mut warnings = Vec::new();
        let answers: Vec<Answer<'_>> = vec![
            Err(FetchFailure::Dispatch),
            Err(FetchFailure::Dispatch),
            Ok((Some(503), b"")),
            Ok((Some(503), b"")),
            Ok((Some(200), b"garbage")),
            Ok((Some(200), b"{}")),
            Ok((None, b"")),
        ];
        for answer in answers {
            let calls = fetcher.due_calls(&config, now);
            assert!(calls.iter().any(|(i, _)| *i == 0), "retry due at {now}");
            let outcome = fetcher.answered(&config, 0, answer, now, 0.0);
            assert!(outcome.fetched.is_none());
            warnings.extend(
                outcome
                    .log
                    .into_iter()
                    .filter(|(level, _)| *level == Level::Warn)
                    .map(|(_, line)| line),
            );
            now = fetcher.services[0].schedule.next_at_ms();
            assert!(now < 600_000);
        }
        assert_eq!(warnings.len(), 4, "{warnings:#?}");
        assert!(warnings[0].contains("could not be sent"));
        assert!(warnings[1].contains("answered 503"));
        assert!(warnings[2].contains("not JSON"));
        assert!(warnings[3].contains("no status"));
        assert!(warnings.iter().all(|line| !line.contains("secret-access")));
        fetcher.due_calls(&config, now);
        let recovered = fetcher.answered(&config, 0, Ok((Some(200), GOOD)), now, 0.0);
        assert!(recovered.fetched.is_some());
        assert!(
            recovered
                .log
                .iter()
                .any(|(level, line)| *level == Level::Info && line.contains("again"))
        );
    }

    #[test]
    fn an_unknown_index_changes_nothing() {
        let config = config(60);
        let mut fetcher = Fetcher::new(&config);
        assert_eq!(
            fetcher.answered(&config, 9, Ok((Some(200), GOOD)), 0, 0.0),
            Outcome::default()
        );
    }
}
