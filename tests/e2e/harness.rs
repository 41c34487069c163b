//! Processes under test: the simulator and Envoy, each killed when dropped.
//!
//! Every process writes its output to a log file in the test's own scratch
//! directory; when a test fails (the drop runs while panicking) the tail of each
//! log is printed, so the failure report shows what Envoy and the simulator said.

use std::fs::{self, File};
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::envoy_config::{self, Bootstrap};
use crate::http::Request;
use crate::sim::SimAdmin;

/// How long a process may take to come up before the test fails.
const STARTUP_LIMIT: Duration = Duration::from_secs(20);
/// How long a process may take to end after SIGTERM before it is killed.
const STOP_LIMIT: Duration = Duration::from_secs(3);
/// The file a listener read from the file system lives in, in the scratch directory.
const LDS_FILE: &str = "lds.json";
/// Lines of each log printed when a test fails.
const LOG_TAIL_LINES: usize = 60;

/// The two artifacts `make test` provides to the suite.
pub struct Artifacts {
    /// The Envoy binary (or its wrapper script).
    pub envoy_bin: PathBuf,
    /// The filter, built for wasm32-wasip1.
    pub wasm: PathBuf,
}

/// Reads `ENVOY_BIN` and `THREESCALE_WASM`; the suite fails (never skips) without them.
pub fn artifacts() -> Artifacts {
    Artifacts {
        envoy_bin: required_file("ENVOY_BIN", "the Envoy binary"),
        wasm: required_file("THREESCALE_WASM", "the filter's .wasm file"),
    }
}

/// The simulator's binary, from `THREESCALE_SIM` (a crate of its own, so not one of
/// this package's binaries).
pub fn sim_bin() -> PathBuf {
    required_file("THREESCALE_SIM", "the threescale-sim binary")
}

fn required_file(var: &str, what: &str) -> PathBuf {
    let value = std::env::var_os(var).unwrap_or_else(|| {
        panic!("{var} is not set: it must name {what}. Run the suite with `make test`, which builds and installs both and exports {var}.")
    });
    let path = PathBuf::from(value);
    assert!(
        path.is_file(),
        "{var}={} does not exist: it must name {what}. Run `make test`, which builds and installs it.",
        path.display()
    );
    path
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture file of this suite, by name (an absolute path is taken as it is).
pub fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/e2e/fixtures").join(name)
}

/// A directory private to one test; removed when the test passes, kept for
/// inspection when it fails.
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// Creates a fresh directory named after the test.
    pub fn new(test: &str) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let serial = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("e2e")
            .join(format!("{test}-{}-{serial}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        Scratch { path }
    }

    /// A path inside the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("scratch files kept in {}", self.path.display());
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// A child process that is stopped and reaped when dropped.
///
/// Children stay in the test's process group, so a Ctrl-C at the terminal
/// reaches them too. On drop a child gets SIGTERM first, so that a script can
/// stop what it started (the demo script's trap stops Envoy and the simulator),
/// and SIGKILL if it has not ended shortly after.
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Starts `command` with stdout and stderr written to the file `log`.
    pub fn spawn(name: &str, mut command: Command, log: PathBuf) -> Process {
        let out = File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        Process {
            name: name.to_owned(),
            child,
            log,
        }
    }

    /// The exit status, if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits up to `limit` for the process to end on its own.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        poll(limit, || self.exited())
    }

    /// Everything the process has written so far.
    pub fn log(&self) -> String {
        fs::read(&self.log)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// The last lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Fails the test with the log tail if the process has ended.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.exited() {
            panic!(
                "{} exited early ({status}); its log ends with:\n{}",
                self.name,
                self.log_tail(LOG_TAIL_LINES)
            );
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.exited().is_none() {
            terminate(self.child.id());
            if self.wait_exit(STOP_LIMIT).is_none() {
                let _ = self.child.kill();
            }
        }
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "----- last {LOG_TAIL_LINES} lines of the {} log ({}) -----\n{}\n----- end of {} log -----",
                self.name,
                self.log.display(),
                self.log_tail(LOG_TAIL_LINES),
                self.name
            );
        }
    }
}

/// Sends SIGTERM to the process `pid`.
fn terminate(pid: u32) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Calls `probe` every 20 ms until it gives a value or `limit` has passed.
pub fn poll<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How long the filter's counters may take to reach Envoy: the filter counts
/// in its VM and hands the counts over on its tick (every 500 ms).
const COUNTER_LIMIT: Duration = Duration::from_secs(5);

/// Reads counters with `read` until they equal `expected` or [`COUNTER_LIMIT`]
/// has passed; the last reading, for the caller's assertion.
pub fn counters_settled<T: PartialEq>(expected: &T, mut read: impl FnMut() -> T) -> T {
    poll(COUNTER_LIMIT, || {
        Some(read()).filter(|value| value == expected)
    })
    .unwrap_or_else(read)
}

/// A local port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The running 3scale simulator: backend (with its `/_sim` admin API) and echo upstream.
pub struct Sim {
    process: Process,
    /// The model it was started with (to start it again).
    model: PathBuf,
    /// The backend listener (Service Management API and `/_sim` admin API).
    pub backend: SocketAddr,
    /// The echo upstream.
    pub upstream: SocketAddr,
}

impl Sim {
    /// Starts `threescale-sim` on ports chosen by the kernel with the given model.
    pub fn start(scratch: &Scratch, model: &Path) -> Sim {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Sim::start_at(scratch, model, any, any, "sim.log")
    }

    /// Stops the simulator (SIGTERM, then SIGKILL): from now on its ports refuse
    /// connections, as a 3scale that is down.
    pub fn stop(&mut self) {
        terminate(self.process.child.id());
        if self.process.wait_exit(STOP_LIMIT).is_none() {
            let _ = self.process.child.kill();
            let _ = self.process.child.wait();
        }
    }

    /// Starts a stopped simulator again on the same ports, with the same model
    /// (and so with no usage counted: the caller adds up both lives).
    pub fn restart(&mut self, scratch: &Scratch) {
        let log = format!("sim-{}.log", self.backend.port());
        let restarted = Sim::start_at(scratch, &self.model, self.backend, self.upstream, &log);
        *self = restarted;
    }

    fn start_at(
        scratch: &Scratch,
        model: &Path,
        backend: SocketAddr,
        upstream: SocketAddr,
        log: &str,
    ) -> Sim {
        let mut command = Command::new(sim_bin());
        command
            .arg("--listen")
            .arg(backend.to_string())
            .arg("--upstream-listen")
            .arg(upstream.to_string())
            .arg("--config")
            .arg(model);
        let mut process = Process::spawn("threescale-sim", command, scratch.file(log));
        let addresses = poll(STARTUP_LIMIT, || {
            process.assert_running();
            let log = process.log();
            Some((
                printed_address(&log, "threescale-sim listening on ")?,
                printed_address(&log, "threescale-sim upstream listening on ")?,
            ))
        });
        let Some((backend, upstream)) = addresses else {
            panic!(
                "threescale-sim did not print its addresses within {STARTUP_LIMIT:?}:\n{}",
                process.log()
            );
        };
        Sim {
            process,
            model: model.to_owned(),
            backend,
            upstream,
        }
    }

    /// The simulator's admin API.
    pub fn admin(&self) -> SimAdmin {
        SimAdmin::new(self.backend)
    }

    /// Fails the test if the simulator has died.
    pub fn assert_running(&mut self) {
        self.process.assert_running();
    }
}

fn printed_address(log: &str, prefix: &str) -> Option<SocketAddr> {
    log.lines()
        .find_map(|line| line.strip_prefix(prefix))
        .and_then(|rest| rest.trim().parse().ok())
}

/// A running Envoy with the filter.
pub struct Envoy {
    process: Process,
    /// The admin interface.
    pub admin: SocketAddr,
    /// The HTTP listener the filter sits on.
    pub listener: SocketAddr,
}

impl Envoy {
    /// Writes `bootstrap` to the scratch directory and starts Envoy on it, waiting
    /// until the listener accepts connections.
    pub fn start(scratch: &Scratch, bootstrap: &Bootstrap) -> Envoy {
        let mut process = Envoy::spawn(scratch, bootstrap);
        let admin_path = scratch.file("envoy-admin-address");
        let admin = poll(STARTUP_LIMIT, || {
            process.assert_running();
            fs::read_to_string(&admin_path).ok()?.trim().parse().ok()
        });
        let Some(admin) = admin else {
            panic!(
                "Envoy did not open its admin port within {STARTUP_LIMIT:?}:\n{}",
                process.log_tail(LOG_TAIL_LINES)
            );
        };
        let listener = poll(STARTUP_LIMIT, || {
            process.assert_running();
            ready(admin)?;
            let listener = listener_address(admin, envoy_config::LISTENER_NAME)?;
            TcpStream::connect(listener).ok().map(|_| listener)
        });
        let Some(listener) = listener else {
            panic!(
                "Envoy's listener did not come up within {STARTUP_LIMIT:?}:\n{}",
                process.log_tail(LOG_TAIL_LINES)
            );
        };
        Envoy {
            process,
            admin,
            listener,
        }
    }

    /// Starts Envoy on `bootstrap` without waiting for anything (for configurations
    /// Envoy must refuse).
    pub fn spawn(scratch: &Scratch, bootstrap: &Bootstrap) -> Process {
        let config = scratch.file("envoy.json");
        let lds = scratch.file(LDS_FILE);
        if bootstrap.listener_from_file {
            fs::write(&lds, bootstrap.render_lds()).unwrap();
        }
        fs::write(&config, bootstrap.render(&lds)).unwrap();
        let mut command = Command::new(&artifacts().envoy_bin);
        command
            .arg("-c")
            .arg(&config)
            .arg("--concurrency")
            .arg(bootstrap.concurrency.to_string())
            .arg("--admin-address-path")
            .arg(scratch.file("envoy-admin-address"))
            .arg("--disable-hot-restart")
            .arg("--log-level")
            .arg(bootstrap.log_level)
            .arg("--component-log-level")
            .arg(format!("wasm:{}", bootstrap.wasm_log_level));
        if let Some(seconds) = bootstrap.drain_time_s {
            command.arg("--drain-time-s").arg(seconds.to_string());
        }
        Process::spawn("envoy", command, scratch.file("envoy.log"))
    }

    /// Replaces the listener (and so the plugin configuration) of an Envoy
    /// started with [`Bootstrap::listener_from_file`], the way Envoy wants a
    /// watched file changed (written aside, then moved over it), and waits
    /// until Envoy has taken the new one.
    pub fn replace_listener(&self, scratch: &Scratch, bootstrap: &Bootstrap) {
        assert!(
            bootstrap.listener_from_file,
            "the listener is not read from a file"
        );
        let updates = || self.stat("listener_manager.lds.update_success");
        let before = updates();
        let aside = scratch.file("lds-next.json");
        fs::write(&aside, bootstrap.render_lds()).unwrap();
        fs::rename(&aside, scratch.file(LDS_FILE)).unwrap();
        let taken = poll(STARTUP_LIMIT, || (updates() > before).then_some(()));
        assert!(
            taken.is_some(),
            "Envoy did not take the new listener within {STARTUP_LIMIT:?}:\n{}",
            self.process.log_tail(LOG_TAIL_LINES)
        );
    }

    /// One counter or gauge by its exact name (0 when Envoy has none).
    pub fn stat(&self, name: &str) -> u64 {
        self.stats(&format!("^{}$", name.replace('.', "\\.")))
            .into_iter()
            .find(|(stat, _)| stat == name)
            .map_or(0, |(_, value)| value)
    }

    /// Starts a graceful drain of every listener (`POST /drain_listeners?graceful`),
    /// what Istio's agent does when a pod is deleted.
    pub fn drain_listeners_gracefully(&self) {
        let response = Request::new("POST", "/drain_listeners?graceful")
            .send(self.admin)
            .unwrap_or_else(|e| panic!("Envoy admin /drain_listeners failed: {e}"));
        assert_eq!(response.status, 200, "{response:?}");
    }

    /// Sends SIGTERM and waits for Envoy to exit (a pod's container stopped).
    pub fn terminate(&mut self) {
        terminate(self.process.child.id());
        assert!(
            self.process.wait_exit(STARTUP_LIMIT).is_some(),
            "Envoy did not exit within {STARTUP_LIMIT:?} of SIGTERM"
        );
    }

    /// Fails the test if Envoy has died.
    pub fn assert_running(&mut self) {
        self.process.assert_running();
    }

    /// Everything Envoy has logged so far (the filter's lines included).
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// Fails the test if Envoy has died or the filter's VM has failed: a panic
    /// kills the VM and `FAIL_RELOAD` would hide that behind a fresh one.
    pub fn assert_healthy(&mut self) {
        self.assert_running();
        let reloads = self.vm_reloads();
        assert!(
            reloads.iter().all(|(_, value)| *value == 0),
            "the filter's VM was reloaded: {reloads:?}\n{}",
            self.process.log_tail(LOG_TAIL_LINES)
        );
        let log = self.process.log();
        assert!(
            !log.contains("panicked at"),
            "the filter panicked:\n{}",
            self.process.log_tail(LOG_TAIL_LINES)
        );
    }

    /// The filter's VM reload counters (`wasm.threescale-wasm-auth.vm_reload`,
    /// `_backoff`, `_failure`, `_success`): all zero while the VM has never
    /// failed. Fails the test if Envoy has none, so that a check built on them
    /// can fail.
    pub fn vm_reloads(&self) -> Vec<(String, u64)> {
        let reloads = self.stats("threescale-wasm-auth.vm_reload");
        assert!(
            reloads.len() >= 4,
            "Envoy has no `wasm.threescale-wasm-auth.vm_reload*` counters to check: {reloads:?}"
        );
        reloads
    }

    /// The counters and gauges whose names match `filter` (a regular expression).
    pub fn stats(&self, filter: &str) -> Vec<(String, u64)> {
        let response = Request::get(&format!("/stats?filter={filter}"))
            .send(self.admin)
            .unwrap_or_else(|e| panic!("Envoy admin /stats failed: {e}"));
        response
            .text()
            .lines()
            .filter_map(|line| {
                let (name, value) = line.split_once(": ")?;
                Some((name.to_owned(), value.trim().parse().ok()?))
            })
            .collect()
    }

    /// A request to the filter's listener.
    pub fn send(&self, request: &Request) -> crate::http::Response {
        request
            .send(self.listener)
            .unwrap_or_else(|e| panic!("request to Envoy failed: {e}\n{request:?}"))
    }
}

/// `Some(())` once Envoy's admin `/ready` answers 200.
fn ready(admin: SocketAddr) -> Option<()> {
    let response = Request::get("/ready").send(admin).ok()?;
    (response.status == 200).then_some(())
}

/// The bound address of a listener, from the admin `/listeners` page (the
/// configuration asks for port 0, so only Envoy knows the real one).
fn listener_address(admin: SocketAddr, name: &str) -> Option<SocketAddr> {
    let response = Request::get("/listeners?format=json").send(admin).ok()?;
    let listing: Value = serde_json::from_slice(&response.body).ok()?;
    let statuses = listing.get("listener_statuses")?.as_array()?;
    let status = statuses
        .iter()
        .find(|status| status.get("name").and_then(Value::as_str) == Some(name))?;
    let socket = status.get("local_address")?.get("socket_address")?;
    let address = socket.get("address")?.as_str()?;
    let port = socket.get("port_value")?.as_u64()?;
    format!("{address}:{port}")
        .parse()
        .ok()
        .filter(|a: &SocketAddr| a.port() != 0)
}

/// A simulator and an Envoy in front of it, torn down together.
///
/// Field order is drop order: Envoy goes first, then the simulator, then the
/// scratch directory (whose removal needs the logs closed).
pub struct Stack {
    /// Envoy with the filter.
    pub envoy: Envoy,
    /// The simulator (3scale backend and echo upstream).
    pub sim: Sim,
    /// The test's scratch directory (kept for its logs; removed on drop).
    scratch: Scratch,
    /// The configuration Envoy runs with (the last one given).
    pub bootstrap: Bootstrap,
}

impl Stack {
    /// Starts a simulator with `model`, then Envoy configured by `configure`,
    /// which receives a bootstrap already pointing at that simulator.
    pub fn start(test: &str, model: &str, configure: impl FnOnce(&mut Bootstrap)) -> Stack {
        let artifacts = artifacts();
        let scratch = Scratch::new(test);
        let sim = Sim::start(&scratch, &fixture(model));
        let mut bootstrap = Bootstrap::new(&artifacts.wasm, sim.backend, sim.upstream);
        configure(&mut bootstrap);
        let envoy = Envoy::start(&scratch, &bootstrap);
        Stack {
            envoy,
            sim,
            scratch,
            bootstrap,
        }
    }

    /// A request through Envoy; also checks that neither process has died and
    /// that the filter has not failed.
    pub fn send(&mut self, request: &Request) -> crate::http::Response {
        let response = self.envoy.send(request);
        self.envoy.assert_healthy();
        self.sim.assert_running();
        response
    }

    /// The simulator's admin API.
    pub fn admin(&self) -> SimAdmin {
        self.sim.admin()
    }

    /// Changes the plugin configuration through LDS (see
    /// [`Bootstrap::listener_from_file`]) and waits until Envoy has taken it.
    pub fn reconfigure(&mut self, change: impl FnOnce(&mut Value)) {
        change(self.bootstrap.plugin_json());
        self.envoy.replace_listener(&self.scratch, &self.bootstrap);
    }

    /// The test's scratch directory.
    pub fn scratch(&self) -> &Scratch {
        &self.scratch
    }

    /// Stops the simulator: 3scale refuses connections until [`Stack::restart_sim`].
    pub fn stop_sim(&mut self) {
        self.sim.stop();
    }

    /// Starts the simulator again on the same ports (its counts start from zero).
    pub fn restart_sim(&mut self) {
        self.sim.restart(&self.scratch);
    }
}

/// Runs a command to completion with a time limit, returning its status and output.
pub fn run_with_limit(
    name: &str,
    command: Command,
    log: PathBuf,
    limit: Duration,
) -> io::Result<(ExitStatus, String)> {
    let mut process = Process::spawn(name, command, log);
    match process.wait_exit(limit) {
        Some(status) => Ok((status, process.log())),
        None => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "{name} did not finish within {limit:?}; its output ends with:\n{}",
                process.log_tail(LOG_TAIL_LINES)
            ),
        )),
    }
}
