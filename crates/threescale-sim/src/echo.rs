//! The echo upstream: answers every request with a JSON description of it,
//! so demos and end-to-end tests can see what the proxy forwarded.

use serde_json::{Value, json};

use crate::http::{Handler, Reply, Request, Response};

/// The echo upstream handler.
pub struct Echo;

impl Handler for Echo {
    fn handle(&self, request: &Request) -> Reply {
        Reply::Send(Response::json(200, &describe(request)))
    }
}

/// `{"method", "path" (the target as received, query included), "headers":
/// [[name, value], …] in order, "body"}`; bytes that are not UTF-8 are
/// replaced, so Latin-1 header values cannot break the answer.
pub fn describe(request: &Request) -> Value {
    let headers: Vec<Value> = request
        .headers
        .iter()
        .map(|(name, value)| json!([name, String::from_utf8_lossy(value)]))
        .collect();
    json!({
        "method": request.method,
        "path": request.target,
        "headers": headers,
        "body": String::from_utf8_lossy(&request.body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_the_request() {
        let request = Request {
            method: "POST".into(),
            target: "/a?b=1".into(),
            path: "/a".into(),
            query: "b=1".into(),
            headers: vec![("x-name".into(), b"caf\xe9".to_vec())],
            body: b"hi".to_vec(),
        };
        let value = describe(&request);
        assert_eq!(value["method"], "POST");
        assert_eq!(value["path"], "/a?b=1");
        assert_eq!(value["headers"][0][0], "x-name");
        assert_eq!(value["headers"][0][1], "caf\u{fffd}");
        assert_eq!(value["body"], "hi");
    }
}
