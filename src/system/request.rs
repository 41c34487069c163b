//! The call that fetches one service's proxy configuration from System.

use std::sync::Arc;

use crate::config::{Service, System};
use crate::io::HttpCall;
use crate::io::percent::encode;

/// `GET <system base>admin/api/services/<id>/proxy/configs/<environment>/latest.json?access_token=<token>`.
pub fn proxy_config_call(system: &System, service: &Service) -> HttpCall {
    let url = &system.upstream.url;
    let path = format!(
        "{}admin/api/services/{}/proxy/configs/{}/latest.json?access_token={}",
        url.base_path,
        encode(&service.id),
        service.environment.as_str(),
        encode(system.token.expose()),
    );
    HttpCall {
        cluster: Arc::clone(&system.upstream.name),
        headers: vec![
            (":method", "GET".into()),
            (":path", path.into()),
            (":authority", Arc::clone(&url.authority).into()),
            (":scheme", url.scheme.into()),
            ("accept", "application/json".into()),
        ],
        body: Vec::new(),
        timeout_ms: system.upstream.timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    #[test]
    fn builds_the_documented_request_with_encoded_parts() {
        let config = parse(
            br#"{"api": "v1",
                 "system": {"upstream": {"name": "outbound|443||admin.example.com", "url": "https://admin.example.com/base", "timeout": 700},
                            "token": "t&k=1 x"},
                 "backend": {"upstream": {"name": "b", "url": "https://su1.3scale.net/"}},
                 "services": [{"id": "12/3", "environment": "staging", "credentials": {"user_key": [{"header": {"keys": ["k"]}}]}}]}"#,
        )
        .unwrap();
        let call = proxy_config_call(config.system.as_ref().unwrap(), &config.services[0]);
        assert_eq!(&*call.cluster, "outbound|443||admin.example.com");
        assert_eq!(call.timeout_ms, 700);
        assert_eq!(
            call.header(":path"),
            Some(
                "/base/admin/api/services/12%2F3/proxy/configs/staging/latest.json?access_token=t%26k%3D1%20x"
            )
        );
        assert_eq!(call.header(":authority"), Some("admin.example.com"));
        assert_eq!(call.header(":scheme"), Some("https"));
        assert_eq!(call.header(":method"), Some("GET"));
        assert!(call.body.is_empty());
    }
}
