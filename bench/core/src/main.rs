//! `bench-core [--rounds N] [--requests N] DIR ID...`: microseconds per request of
//! the filter's core for each configuration ID of `make bench-scale`, read from
//! DIR/bench-scale-ID.plugin.json (its plugin configuration) and
//! DIR/bench-scale-ID.request (the authority and path of its request), as
//! scripts/bench-scale.py writes them.
//!
//! Each configuration gets a [`Plugin`] and a host made of plain data
//! ([`host::BenchHost`]); each request goes through the plugin as Envoy's shell
//! drives it (headers, the answer of 3scale when it waits for one, response
//! headers, end), the host's timer ticks every 500 ms of a clock that advances
//! 50 µs per request, and 3scale answers at once. After a warm-up (the rule index
//! built, the cache filled), the configurations run in turn, in a different order
//! each round; the median and the best round of each are printed with their ratio
//! to the first configuration. What Envoy and the machine add to a request is left out,
//! so that what the rule and service counts cost shows on its own.

mod host;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use threescale_wasm_auth::config::{self, ConfigError};
use threescale_wasm_auth::plugin::{Exchange, Host, Plugin, Step};
use threescale_wasm_auth::request::PlainRequest;

use host::BenchHost;

/// The query string that carries the credentials of `open-app` (examples/sim.yaml).
const CREDENTIALS: &str = "app_id=open-app";
/// The host clock's advance per request.
const STEP: Duration = Duration::from_micros(50);
/// The host timer's period, as the filter sets it (src/filter/root.rs).
const TICK: Duration = Duration::from_millis(500);
/// Where the host clock starts (a Unix time in 2023).
const START: Duration = Duration::from_secs(1_700_000_000);
const DEFAULT_ROUNDS: usize = 5;
const DEFAULT_REQUESTS: usize = 20_000;
/// Requests per configuration before the first round.
const WARMUP: usize = 2_000;

#[derive(Debug, thiserror::Error)]
enum BenchError {
    #[error("usage: bench-core [--rounds N] [--requests N] DIR ID... ({0})")]
    Usage(String),
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: expected `AUTHORITY PATH CONFIG_BYTES`")]
    RequestFile(PathBuf),
    #[error("({id}) configuration: {source}")]
    Config { id: String, source: ConfigError },
    #[error("({id}) the filter refused the request: {step:?}")]
    Refused { id: String, step: Box<Step> },
    #[error("({id}) the request still waits after 3scale's answer")]
    Stuck { id: String },
}

struct Settings {
    rounds: usize,
    requests: usize,
    dir: PathBuf,
    ids: Vec<String>,
}

/// One configuration: its plugin, its host, and the request sent to it.
struct Case {
    id: String,
    plugin: Plugin,
    host: BenchHost,
    request: PlainRequest,
    next_tick: Duration,
    /// Microseconds per request, one per round.
    timings: Vec<f64>,
    /// Requests served, warm-up included.
    served: u64,
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench-core: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), BenchError> {
    let settings = parse_args(std::env::args().skip(1))?;
    let mut cases = settings
        .ids
        .iter()
        .map(|id| load_case(&settings.dir, id))
        .collect::<Result<Vec<_>, _>>()?;
    for case in &mut cases {
        case.serve_many(WARMUP)?;
    }
    println!(
        "== {} rounds, {} requests per configuration and round ({}), in turn",
        settings.rounds,
        settings.requests,
        std::env::consts::ARCH
    );
    for round in 0..settings.rounds {
        let count = cases.len();
        let mut line = format!("-- round {}/{}:", round + 1, settings.rounds);
        for offset in 0..count {
            if let Some(case) = cases.get_mut((round + offset) % count) {
                let started = Instant::now();
                case.serve_many(settings.requests)?;
                let per_request = started.elapsed().as_secs_f64() * 1e6 / settings.requests as f64;
                case.timings.push(per_request);
                line.push_str(&format!(" ({}) {per_request:.3}", case.id));
            }
        }
        println!("{line} us/request");
    }
    print_medians(&cases);
    Ok(())
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Settings, BenchError> {
    let mut rounds = DEFAULT_ROUNDS;
    let mut requests = DEFAULT_REQUESTS;
    let mut positional = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => rounds = whole_number(&arg, args.next())?,
            "--requests" => requests = whole_number(&arg, args.next())?,
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    let dir = positional
        .next()
        .map(PathBuf::from)
        .ok_or_else(|| BenchError::Usage("no DIR".to_owned()))?;
    let ids: Vec<String> = positional.collect();
    if ids.is_empty() {
        return Err(BenchError::Usage("no configuration ID".to_owned()));
    }
    Ok(Settings {
        rounds,
        requests,
        dir,
        ids,
    })
}

fn whole_number(option: &str, value: Option<String>) -> Result<usize, BenchError> {
    value
        .as_deref()
        .and_then(|text| text.parse().ok())
        .filter(|&number| number > 0)
        .ok_or_else(|| BenchError::Usage(format!("{option} takes a positive whole number")))
}

fn read(path: PathBuf) -> Result<Vec<u8>, BenchError> {
    std::fs::read(&path).map_err(|source| BenchError::Read { path, source })
}

fn load_case(dir: &Path, id: &str) -> Result<Case, BenchError> {
    let request_file = dir.join(format!("bench-scale-{id}.request"));
    let line = String::from_utf8_lossy(&read(request_file.clone())?).into_owned();
    let mut fields = line.split_whitespace();
    let (Some(authority), Some(path)) = (fields.next(), fields.next()) else {
        return Err(BenchError::RequestFile(request_file));
    };
    let text = read(dir.join(format!("bench-scale-{id}.plugin.json")))?;
    let config = config::parse(&text).map_err(|source| BenchError::Config {
        id: id.to_owned(),
        source,
    })?;
    let request = PlainRequest::new("GET", authority, &format!("{path}?{CREDENTIALS}"));
    Ok(Case {
        id: id.to_owned(),
        plugin: Plugin::new(config, START),
        host: BenchHost::new(START),
        request,
        next_tick: START + TICK,
        timings: Vec::new(),
        served: 0,
    })
}

impl Case {
    fn serve_many(&mut self, requests: usize) -> Result<(), BenchError> {
        for _ in 0..requests {
            self.serve()?;
        }
        Ok(())
    }

    /// One request, through the plugin as the shell drives it; then the clock
    /// advances, and the timer ticks when it is due.
    fn serve(&mut self) -> Result<(), BenchError> {
        let mut exchange = Exchange::default();
        let mut step = self
            .plugin
            .on_request_headers(&mut exchange, &self.request, &mut self.host);
        if step == Step::Wait {
            step = self.answer_authorization(&mut exchange)?;
        }
        if !matches!(step, Step::Continue(_)) {
            return Err(BenchError::Refused {
                id: self.id.clone(),
                step: Box::new(step),
            });
        }
        self.plugin
            .response_headers(&exchange, &mut |name, value, _| {
                std::hint::black_box((name, value));
            });
        self.plugin.on_request_done(&mut exchange, &mut self.host);
        self.served += 1;
        self.host.advance(STEP);
        if self.host.now() >= self.next_tick {
            self.next_tick += TICK;
            self.tick();
        }
        Ok(())
    }

    fn answer_authorization(&mut self, exchange: &mut Exchange) -> Result<Step, BenchError> {
        self.host.take_sent();
        let size = self.host.answer_authorization();
        self.plugin
            .on_authrep_answer(exchange, size, &mut self.host)
            .ok_or_else(|| BenchError::Stuck {
                id: self.id.clone(),
            })
    }

    /// The timer: reports are sent, and 3scale takes them.
    fn tick(&mut self) {
        self.plugin.on_tick(&mut self.host);
        self.host.answer_report();
        for token in self.host.take_sent() {
            self.plugin.on_call_answer(token, 0, &mut self.host);
        }
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match (sorted.get(middle.wrapping_sub(1)), sorted.get(middle)) {
        (Some(low), Some(high)) if sorted.len().is_multiple_of(2) => (low + high) / 2.0,
        (_, Some(value)) => *value,
        _ => f64::NAN,
    }
}

/// Prints, per configuration, the median and the best of its rounds, each with the
/// ratio of (base)'s to it (requests per second relative to base): on a shared
/// machine other processes only ever add time, so the best round is the closest to
/// what the code costs, and the median shows how far the noise went.
fn print_medians(cases: &[Case]) {
    let Some(first) = cases.first() else {
        return;
    };
    let base_median = median(&first.timings);
    let base_best = best(&first.timings);
    println!("== over the rounds; ratios: ({}) / this", first.id);
    println!(
        "   {:<6} {:>14} {:>8} {:>12} {:>8} {:>26}",
        "", "median us/req", "ratio", "best us/req", "ratio", "calls to 3scale per 1000"
    );
    for case in cases {
        let (median, best) = (median(&case.timings), best(&case.timings));
        println!(
            "   ({:<4}) {:>14.3} {:>8.3} {:>12.3} {:>8.3} {:>26.2}",
            case.id,
            median,
            base_median / median,
            best,
            base_best / best,
            1000.0 * case.host.calls as f64 / case.served as f64
        );
    }
}

fn best(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}
