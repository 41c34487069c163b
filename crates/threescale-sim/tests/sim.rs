//! Runs the `threescale-sim` binary and talks to it over real TCP connections.
// Marks the helpers below as test code too, so the project's clippy test
// allowances (unwrap, expect, panic) cover them, not only the #[test] functions.
#![cfg(test)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const SERVICE: &str = "2555417777820";
const TOKEN: &str = "service-token-2555417777820";
const USER_KEY: &str = "8a3b6c1e5d2f4a9b";
const OPTIONS: &str = "rejection_reason_header=1&limit_headers=1&no_body=1";

/// A running simulator, killed when dropped.
struct Sim {
    child: Child,
    backend: String,
    upstream: String,
}

impl Sim {
    fn start() -> Sim {
        let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/sim.yaml");
        let mut child = Command::new(env!("CARGO_BIN_EXE_threescale-sim"))
            .args(["--config", config])
            .args([
                "--listen",
                "127.0.0.1:0",
                "--upstream-listen",
                "127.0.0.1:0",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("simulator starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        let mut next_address = |prefix: &str| {
            let line = lines.next().expect("a line").expect("readable line");
            line.strip_prefix(prefix)
                .unwrap_or_else(|| panic!("unexpected line {line:?}"))
                .to_string()
        };
        let backend = next_address("threescale-sim listening on ");
        let upstream = next_address("threescale-sim upstream listening on ");
        Sim {
            child,
            backend,
            upstream,
        }
    }

    fn send(&self, raw: &[u8]) -> Answer {
        let mut stream = connect(&self.backend);
        stream.write_all(raw).unwrap();
        read_answer(&mut BufReader::new(stream)).expect("an answer")
    }

    fn get(&self, target: &str, headers: &[(&str, &str)]) -> Answer {
        let mut raw = format!("GET {target} HTTP/1.1\r\nhost: sim\r\nconnection: close\r\n");
        for (name, value) in headers {
            raw.push_str(&format!("{name}: {value}\r\n"));
        }
        raw.push_str("\r\n");
        self.send(raw.as_bytes())
    }

    fn with_body(&self, method: &str, target: &str, content_type: &str, body: &str) -> Answer {
        let raw = format!(
            "{method} {target} HTTP/1.1\r\nhost: sim\r\nconnection: close\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        self.send(raw.as_bytes())
    }

    fn admin_put(&self, target: &str, body: &Value) -> Answer {
        self.with_body("PUT", target, "application/json", &body.to_string())
    }

    fn authrep(&self, credentials: &str, usage: &str) -> Answer {
        self.get(
            &format!(
                "/transactions/authrep.xml?service_token={TOKEN}&service_id={SERVICE}&{credentials}&{usage}"
            ),
            &[("3scale-options", OPTIONS)],
        )
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn connect(address: &str) -> TcpStream {
    let stream = TcpStream::connect(address).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
}

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// Reads one response; `None` when the connection closes before a status line.
fn read_answer(reader: &mut impl BufRead) -> Option<Answer> {
    let mut status_line = String::new();
    if reader.read_line(&mut status_line).ok()? == 0 {
        return None;
    }
    let status = status_line.split(' ').nth(1)?.parse().ok()?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Answer {
        status,
        headers,
        body,
    })
}

#[test]
fn authrep_counts_and_denies_over_the_limit() {
    let sim = Sim::start();
    let tiny = "service_token=service-token-42&service_id=42&user_key=key-42&usage%5Bhits%5D=1";
    for remaining in ["2", "1", "0"] {
        let answer = sim.get(
            &format!("/transactions/authrep.xml?{tiny}"),
            &[("3scale-options", OPTIONS)],
        );
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("3scale-limit-remaining"), Some(remaining));
        assert_eq!(answer.header("3scale-limit-reset"), Some("-1"));
        assert_eq!(answer.header("3scale-limit-max-value"), Some("3"));
        assert!(answer.body.is_empty());
    }
    let answer = sim.get(
        &format!("/transactions/authrep.xml?{tiny}"),
        &[("3scale-options", OPTIONS)],
    );
    assert_eq!(answer.status, 409);
    assert_eq!(
        answer.header("3scale-rejection-reason"),
        Some("limits_exceeded")
    );
    assert_eq!(answer.header("3scale-limit-remaining"), Some("0"));

    let usage = sim.get("/_sim/usage", &[]).json();
    let eternity = usage
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["service_id"] == "42" && row["period"] == "eternity")
        .expect("an eternity counter");
    assert_eq!(eternity["value"], 3);
    assert_eq!(eternity["application"], "user_key:key-42");
}

#[test]
fn status_body_and_errors() {
    let sim = Sim::start();
    let answer = sim.get(
        &format!(
            "/transactions/authorize.xml?service_token={TOKEN}&service_id={SERVICE}&user_key={USER_KEY}&usage%5Bproducts%5D=1"
        ),
        &[],
    );
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-type"),
        Some("application/vnd.3scale-v2.0+xml")
    );
    let body = answer.text();
    assert!(body.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?><status><authorized>true</authorized><plan>Basic</plan><usage_reports>"#), "{body}");
    assert!(body.contains(r#"<usage_report metric="products" period="hour">"#));

    let answer = sim.get(
        &format!(
            "/transactions/authrep.xml?service_token={TOKEN}&service_id={SERVICE}&user_key=wrong"
        ),
        &[],
    );
    assert_eq!(answer.status, 403);
    assert!(
        answer
            .text()
            .contains(r#"<error code="user_key_invalid">user key "wrong" is invalid</error>"#)
    );

    let answer = sim.authrep("app_id=aladdin&app_key=nope", "usage%5Bhits%5D=1");
    assert_eq!(answer.status, 409);
    assert_eq!(
        answer.header("3scale-rejection-reason"),
        Some("application_key_invalid")
    );

    let answer = sim.authrep("app_id=aladdin&app_key=opensesame", "usage%5Bhits%5D=1");
    assert_eq!(answer.status, 200);

    let answer = sim.authrep("app_id=missing", "usage%5Bhits%5D=1");
    assert_eq!(answer.status, 404);

    let answer = sim.authrep(&format!("user_key={USER_KEY}"), "usage%5Bunknown%5D=1");
    assert_eq!(answer.status, 404);

    let answer = sim.get("/transactions/authrep.xml?service_id=1", &[]);
    assert_eq!(answer.status, 403);
    assert!(
        answer
            .text()
            .contains("provider_key_or_service_token_required")
    );

    assert_eq!(sim.get("/nowhere", &[]).status, 404);
}

#[test]
fn report_then_usage_then_reset() {
    let sim = Sim::start();
    let body = format!(
        "service_token={TOKEN}&service_id={SERVICE}&transactions%5B0%5D%5Buser_key%5D={USER_KEY}&transactions%5B0%5D%5Busage%5D%5Bproducts%5D=4"
    );
    let answer = sim.with_body(
        "POST",
        "/transactions.xml",
        "application/x-www-form-urlencoded",
        &body,
    );
    assert_eq!(answer.status, 202);
    assert!(answer.body.is_empty());

    let usage = sim.get("/_sim/usage", &[]).json();
    let value_of = |metric: &str, period: &str| {
        usage
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["metric"] == metric && row["period"] == period)
            .map(|row| row["value"].clone())
    };
    assert_eq!(value_of("products", "hour"), Some(json!(4)));
    assert_eq!(
        value_of("hits", "minute"),
        Some(json!(4)),
        "child counts for parent"
    );

    let requests = sim.get("/_sim/requests", &[]).json();
    let report = &requests[0];
    assert_eq!(report["method"], "POST");
    assert_eq!(report["path"], "/transactions.xml");
    assert_eq!(
        report["form"][2],
        json!(["transactions[0][user_key]", USER_KEY])
    );

    assert_eq!(
        sim.with_body("POST", "/_sim/reset", "text/plain", "")
            .status,
        200
    );
    assert_eq!(sim.get("/_sim/usage", &[]).json(), json!([]));
    assert_eq!(sim.get("/_sim/requests", &[]).json(), json!([]));
}

#[test]
fn request_log_keeps_raw_and_decoded_query() {
    let sim = Sim::start();
    sim.get(
        &format!("/transactions/authrep.xml?service_token={TOKEN}&service_id={SERVICE}&user_key=a%2Bb%26c&usage%5Bhits%5D=1"),
        &[("3scale-options", OPTIONS)],
    );
    let requests = sim.get("/_sim/requests", &[]).json();
    let logged = &requests[0];
    assert!(
        logged["query"]
            .as_str()
            .unwrap()
            .contains("user_key=a%2Bb%26c&usage%5Bhits%5D=1")
    );
    assert_eq!(logged["params"][2], json!(["user_key", "a+b&c"]));
    assert_eq!(logged["params"][3], json!(["usage[hits]", "1"]));
    let headers = logged["headers"].as_array().unwrap();
    assert!(headers.contains(&json!(["3scale-options", OPTIONS])));
}

#[test]
fn system_endpoint_and_runtime_replacement() {
    let sim = Sim::start();
    let path = format!("/admin/api/services/{SERVICE}/proxy/configs/production/latest.json");
    let answer = sim.get(&format!("{path}?access_token=system-access-token"), &[]);
    assert_eq!(answer.status, 200);
    let config = answer.json();
    let content = &config["proxy_config"]["content"];
    assert_eq!(content["backend_authentication_value"], TOKEN);
    assert_eq!(content["proxy"]["proxy_rules"].as_array().unwrap().len(), 4);

    assert_eq!(
        sim.get(&format!("{path}?access_token=wrong"), &[]).status,
        403
    );
    assert_eq!(sim.get(&path, &[]).status, 403);
    assert_eq!(
        sim.get("/admin/api/services/9/proxy/configs/production/latest.json?access_token=system-access-token", &[])
            .status,
        404
    );

    let answer = sim.admin_put(
        &format!("/_sim/system/{SERVICE}/production"),
        &json!({"proxy_rules": [{"http_method": "POST", "pattern": "/only", "metric_system_name": "hits", "delta": 3}], "token": "rotated"}),
    );
    assert_eq!(answer.status, 200);
    let config = sim
        .get(&format!("{path}?access_token=system-access-token"), &[])
        .json();
    let content = &config["proxy_config"]["content"];
    assert_eq!(config["proxy_config"]["version"], 2);
    assert_eq!(content["backend_authentication_value"], "rotated");
    assert_eq!(content["proxy"]["proxy_rules"][0]["pattern"], "/only");

    assert_eq!(
        sim.admin_put("/_sim/system/nope/production", &json!({}))
            .status,
        404
    );
    assert_eq!(
        sim.admin_put(
            &format!("/_sim/system/{SERVICE}/production"),
            &json!({"rules": []})
        )
        .status,
        400
    );
}

#[test]
fn faults_status_garbage_close_delay_and_scope() {
    let sim = Sim::start();
    let authrep = || sim.authrep(&format!("user_key={USER_KEY}"), "usage%5Bhits%5D=1");

    sim.admin_put("/_sim/fault", &json!({"mode": "status", "status": 503}));
    assert_eq!(authrep().status, 503);

    sim.admin_put(
        "/_sim/fault",
        &json!({"mode": "garbage", "scope": "backend"}),
    );
    let answer = authrep();
    assert_eq!(answer.status, 200);
    assert!(!answer.text().contains("<status>"));

    sim.admin_put("/_sim/fault", &json!({"mode": "close", "scope": "system"}));
    assert_eq!(authrep().status, 200, "backend is out of the fault's scope");
    let mut stream = connect(&sim.backend);
    stream
        .write_all(b"GET /admin/api/services/1/proxy/configs/production/latest.json HTTP/1.1\r\nhost: sim\r\n\r\n")
        .unwrap();
    assert!(
        read_answer(&mut BufReader::new(stream)).is_none(),
        "closed without an answer"
    );

    sim.admin_put(
        "/_sim/fault",
        &json!({"mode": "delay", "delay_ms": 300, "scope": "all"}),
    );
    let started = Instant::now();
    assert_eq!(authrep().status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    sim.admin_put("/_sim/fault", &json!({"mode": "none"}));
    let started = Instant::now();
    assert_eq!(authrep().status, 200);
    assert!(started.elapsed() < Duration::from_millis(300));
    assert_eq!(
        sim.admin_put("/_sim/fault", &json!({"mode": "boom"}))
            .status,
        400
    );
}

#[test]
fn keep_alive_chunked_bodies_and_bad_requests() {
    let sim = Sim::start();
    let mut stream = connect(&sim.backend);
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let body = format!(
        "service_token={TOKEN}&service_id={SERVICE}&transactions%5B0%5D%5Bapp_id%5D=open-app&transactions%5B0%5D%5Busage%5D%5Bstorage%5D=2"
    );
    let (first, second) = body.split_at(20);
    let chunked = format!(
        "POST /transactions.xml HTTP/1.1\r\nhost: sim\r\ncontent-type: application/x-www-form-urlencoded\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{first}\r\n{:x}\r\n{second}\r\n0\r\n\r\n",
        first.len(),
        second.len()
    );
    stream.write_all(chunked.as_bytes()).unwrap();
    assert_eq!(read_answer(&mut reader).unwrap().status, 202);
    stream
        .write_all(b"GET /_sim/usage HTTP/1.1\r\nhost: sim\r\n\r\n")
        .unwrap();
    let usage = read_answer(&mut reader).unwrap().json();
    assert!(
        usage
            .as_array()
            .unwrap()
            .iter()
            .any(|row| row["metric"] == "storage" && row["value"] == 2)
    );

    assert_eq!(sim.send(b"NOT HTTP\r\n\r\n").status, 400);
    assert_eq!(
        sim.send(b"GET / HTTP/1.1\r\nx-latin: caf\xe9\r\nconnection: close\r\n\r\n")
            .status,
        404
    );
}

#[test]
fn echo_upstream_describes_requests() {
    let sim = Sim::start();
    let mut stream = connect(&sim.upstream);
    stream
        .write_all(b"POST /products/1?x=%20y HTTP/1.1\r\nhost: up\r\nx-latin: caf\xe9\r\nconnection: close\r\ncontent-length: 2\r\n\r\nhi")
        .unwrap();
    let answer = read_answer(&mut BufReader::new(stream)).unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let echo = answer.json();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/products/1?x=%20y");
    assert_eq!(echo["body"], "hi");
    let headers = echo["headers"].as_array().unwrap();
    assert!(headers.contains(&json!(["x-latin", "caf\u{fffd}"])));
    assert_eq!(headers[0], json!(["host", "up"]));
}
