//! A small HTTP/1.1 server on std: a thread per connection, keep-alive,
//! `Content-Length` and chunked request bodies. Malformed requests get a 400
//! and the connection is closed; nothing a client sends can panic it.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Longest request line or header line accepted: a little more than Envoy's
/// default limit for a request's whole header block (60 KiB), so that the echo
/// upstream takes every request Envoy forwards.
const MAX_LINE: usize = 64 * 1024;
/// Most header lines accepted.
const MAX_HEADERS: usize = 200;
/// Largest request body accepted.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// How long an idle keep-alive connection is kept open.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// A parsed request. Header names are lowercased; values are raw bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The request target as received (`/path?query`).
    pub target: String,
    pub path: String,
    /// The raw query string, without `?` (empty when there is none).
    pub query: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header with this lowercase name.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_slice())
    }
}

/// A response to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// A response with one `content-type` header.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("content-type".to_string(), content_type.to_string())],
            body: body.into(),
        }
    }

    /// A JSON response.
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response::new(status, "application/json", value.to_string())
    }
}

/// What the handler wants done with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Send(Response),
    /// Close the connection without answering (a simulated failure).
    Hangup,
    /// Write these bytes as they are (not necessarily HTTP), then close the
    /// connection (a simulated failure).
    Raw(Vec<u8>),
    /// Never answer: read and discard whatever the client sends until it closes
    /// the connection or stays silent for the idle timeout (a simulated failure).
    Hang,
}

/// Something that answers requests; shared by all connection threads.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, request: &Request) -> Reply;
}

/// Accepts connections forever on a background thread.
pub fn serve(listener: TcpListener, handler: Arc<dyn Handler>) {
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let handler = Arc::clone(&handler);
            thread::spawn(move || {
                // A broken connection only ends this thread.
                let _ = serve_connection(stream, handler.as_ref());
            });
        }
    });
}

/// Why a request could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("connection closed")]
    Closed,
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    #[error("request body too large")]
    TooLarge,
    #[error(transparent)]
    Io(#[from] io::Error),
}

fn serve_connection(stream: TcpStream, handler: &dyn Handler) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let (request, keep_alive) = match read_request(&mut reader, &mut writer) {
            Ok(read) => read,
            Err(ReadError::Closed | ReadError::Io(_)) => return Ok(()),
            Err(ReadError::TooLarge) => {
                let response = Response::new(413, "text/plain", "request too large\n");
                return write_response(&mut writer, &response, "", false);
            }
            Err(ReadError::Malformed(why)) => {
                let response = Response::new(400, "text/plain", format!("bad request: {why}\n"));
                return write_response(&mut writer, &response, "", false);
            }
        };
        match handler.handle(&request) {
            Reply::Hangup => return Ok(()),
            Reply::Raw(bytes) => {
                writer.write_all(&bytes)?;
                return writer.flush();
            }
            Reply::Hang => {
                // Ends with an error on the idle timeout, which only ends this thread.
                io::copy(&mut reader, &mut io::sink())?;
                return Ok(());
            }
            Reply::Send(response) => {
                write_response(&mut writer, &response, &request.method, keep_alive)?;
            }
        }
        if !keep_alive {
            return Ok(());
        }
    }
}

/// Reads one request; also says whether the connection stays open after it.
pub fn read_request(
    reader: &mut impl BufRead,
    writer: &mut impl Write,
) -> Result<(Request, bool), ReadError> {
    let request_line = loop {
        let line = read_line(reader)?.ok_or(ReadError::Closed)?;
        // RFC 9112 allows empty lines before the request line.
        if !line.is_empty() {
            break line;
        }
    };
    let request_line = String::from_utf8(request_line)
        .map_err(|_| ReadError::Malformed("request line is not UTF-8"))?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Malformed("request line"));
    };
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(ReadError::Malformed("HTTP version")),
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') {
        return Err(ReadError::Malformed("method"));
    }
    let headers = read_headers(reader)?;
    let mut request = Request {
        method: method.to_string(),
        target: target.to_string(),
        headers,
        ..Request::default()
    };
    (request.path, request.query) = split_target(target)?;
    if request
        .header("expect")
        .is_some_and(|value| value.eq_ignore_ascii_case(b"100-continue"))
    {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        writer.flush()?;
    }
    request.body = read_body(reader, &request)?;
    let connection = request
        .header("connection")
        .map(|value| String::from_utf8_lossy(value).to_ascii_lowercase())
        .unwrap_or_default();
    let keep_alive = if http10 {
        connection.contains("keep-alive")
    } else {
        !connection.contains("close")
    };
    Ok((request, keep_alive))
}

/// Reads a line without its CRLF (or LF); `None` at a clean end of stream.
fn read_line(reader: &mut impl BufRead) -> Result<Option<Vec<u8>>, ReadError> {
    let mut line = Vec::new();
    let read = reader
        .take(MAX_LINE as u64 + 2)
        .read_until(b'\n', &mut line)?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(ReadError::Malformed("line too long or unterminated"));
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(line))
}

fn read_headers(reader: &mut impl BufRead) -> Result<Vec<(String, Vec<u8>)>, ReadError> {
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or(ReadError::Malformed("headers cut short"))?;
        if line.is_empty() {
            return Ok(headers);
        }
        if headers.len() >= MAX_HEADERS {
            return Err(ReadError::Malformed("too many headers"));
        }
        let colon = line
            .iter()
            .position(|b| *b == b':')
            .ok_or(ReadError::Malformed("header without colon"))?;
        let name = line.get(..colon).unwrap_or_default();
        if name.is_empty() || !name.iter().all(|b| b.is_ascii_graphic()) {
            return Err(ReadError::Malformed("header name"));
        }
        let value = line.get(colon + 1..).unwrap_or_default().trim_ascii();
        headers.push((
            String::from_utf8_lossy(name).to_ascii_lowercase(),
            value.to_vec(),
        ));
    }
}

/// Splits an origin-form or absolute-form target into path and query.
fn split_target(target: &str) -> Result<(String, String), ReadError> {
    let origin = if target.starts_with('/') || target == "*" {
        target
    } else if let Some(after_scheme) = target.split_once("://").map(|(_, rest)| rest) {
        after_scheme
            .find('/')
            .and_then(|slash| after_scheme.get(slash..))
            .unwrap_or("/")
    } else {
        return Err(ReadError::Malformed("request target"));
    };
    let (path, query) = origin.split_once('?').unwrap_or((origin, ""));
    Ok((path.to_string(), query.to_string()))
}

fn read_body(reader: &mut impl BufRead, request: &Request) -> Result<Vec<u8>, ReadError> {
    let chunked = request.header("transfer-encoding").is_some_and(|value| {
        String::from_utf8_lossy(value)
            .to_ascii_lowercase()
            .contains("chunked")
    });
    if chunked {
        return read_chunked(reader);
    }
    let Some(length) = request.header("content-length") else {
        return Ok(Vec::new());
    };
    let length: usize = std::str::from_utf8(length)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .ok_or(ReadError::Malformed("content-length"))?;
    if length > MAX_BODY {
        return Err(ReadError::TooLarge);
    }
    let mut body = vec![0; length];
    reader
        .read_exact(&mut body)
        .map_err(|_| ReadError::Malformed("body shorter than content-length"))?;
    Ok(body)
}

fn read_chunked(reader: &mut impl BufRead) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or(ReadError::Malformed("chunk cut short"))?;
        let size_text = String::from_utf8_lossy(&line);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size =
            usize::from_str_radix(size_text, 16).map_err(|_| ReadError::Malformed("chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !read_line(reader)?
                .ok_or(ReadError::Malformed("trailers cut short"))?
                .is_empty()
            {}
            return Ok(body);
        }
        if body.len().saturating_add(size) > MAX_BODY {
            return Err(ReadError::TooLarge);
        }
        let start = body.len();
        body.resize(start + size, 0);
        let chunk = body.get_mut(start..).ok_or(ReadError::Malformed("chunk"))?;
        reader
            .read_exact(chunk)
            .map_err(|_| ReadError::Malformed("chunk cut short"))?;
        let end = read_line(reader)?.ok_or(ReadError::Malformed("chunk cut short"))?;
        if !end.is_empty() {
            return Err(ReadError::Malformed("chunk not followed by CRLF"));
        }
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Writes a response; a `HEAD` answer has no body.
pub fn write_response(
    writer: &mut impl Write,
    response: &Response,
    method: &str,
    keep_alive: bool,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason_phrase(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n", response.body.len()));
    if !keep_alive {
        head.push_str("connection: close\r\n");
    }
    head.push_str("\r\n");
    writer.write_all(head.as_bytes())?;
    if method != "HEAD" {
        writer.write_all(&response.body)?;
    }
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8]) -> Result<(Request, bool), ReadError> {
        let mut sink = Vec::new();
        read_request(&mut BufReader::new(raw), &mut sink)
    }

    #[test]
    fn reads_a_get_with_query_and_headers() {
        let (request, keep_alive) =
            parse(b"GET /transactions/authrep.xml?a=1&b=2 HTTP/1.1\r\nHost: x\r\n3scale-Options: no_body=1\r\n\r\n")
                .unwrap();
        assert!(keep_alive);
        assert_eq!(request.path, "/transactions/authrep.xml");
        assert_eq!(request.query, "a=1&b=2");
        assert_eq!(request.header("3scale-options"), Some(&b"no_body=1"[..]));
    }

    #[test]
    fn reads_content_length_and_chunked_bodies() {
        let (request, _) = parse(b"POST /t HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello").unwrap();
        assert_eq!(request.body, b"hello");
        let (request, _) = parse(
            b"POST /t HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nT: v\r\n\r\n",
        )
        .unwrap();
        assert_eq!(request.body, b"hello world");
    }

    #[test]
    fn connection_close_and_http10() {
        assert!(
            !parse(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
                .unwrap()
                .1
        );
        assert!(!parse(b"GET / HTTP/1.0\r\n\r\n").unwrap().1);
        assert!(
            parse(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                .unwrap()
                .1
        );
    }

    #[test]
    fn latin1_header_values_are_kept_as_bytes() {
        let (request, _) = parse(b"GET / HTTP/1.1\r\nX-Name: caf\xe9\r\n\r\n").unwrap();
        assert_eq!(request.header("x-name"), Some(&b"caf\xe9"[..]));
    }

    #[test]
    fn malformed_requests_are_errors_not_panics() {
        for raw in [
            &b"GARBAGE\r\n\r\n"[..],
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"GET relative HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\n",
            b"\xff\xfe / HTTP/1.1\r\n\r\n",
        ] {
            assert!(
                matches!(parse(raw), Err(ReadError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
        assert!(matches!(parse(b""), Err(ReadError::Closed)));
    }

    #[test]
    fn absolute_form_target() {
        let (request, _) = parse(b"GET http://h:1/p?q=1 HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(
            (request.path.as_str(), request.query.as_str()),
            ("/p", "q=1")
        );
    }

    #[test]
    fn writes_status_headers_and_length() {
        let mut out = Vec::new();
        let response = Response::new(202, "text/plain", "");
        write_response(&mut out, &response, "POST", false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 202 Accepted\r\ncontent-type: text/plain\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
    }
}
