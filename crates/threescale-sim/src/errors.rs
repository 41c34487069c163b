//! apisonator's error and denial codes, statuses and messages.
//!
//! An error ends the call with its own status and an `<error>` document; a
//! denial is a normal `409` status answer whose `<reason>` is the message.
//! Codes are apisonator's class names in snake case.

/// A call that apisonator refuses to process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    ProviderKeyOrServiceTokenRequired,
    ServiceIdMissing,
    ServiceTokenInvalid {
        token: String,
        service_id: String,
    },
    EndUsersNoLongerSupported,
    /// `usage` given but not a hash: apisonator halts with a bare 403.
    UsageNotAHash,
    AuthenticationError,
    UserKeyInvalid(String),
    ApplicationNotFound(Option<String>),
    MetricInvalid(String),
    UsageValueInvalid {
        metric: String,
        value: Option<String>,
    },
    NotValidData,
    BadRequest(Option<String>),
    ContentTypeInvalid(String),
    TransactionsIsBlank,
    TransactionsFormatInvalid,
    TransactionsHasNilTransaction,
}

impl ApiError {
    /// The HTTP status apisonator answers with.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::ServiceIdMissing | ApiError::NotValidData => 422,
            ApiError::ApplicationNotFound(_) | ApiError::MetricInvalid(_) => 404,
            ApiError::EndUsersNoLongerSupported
            | ApiError::BadRequest(_)
            | ApiError::ContentTypeInvalid(_)
            | ApiError::TransactionsIsBlank
            | ApiError::TransactionsFormatInvalid
            | ApiError::TransactionsHasNilTransaction => 400,
            _ => 403,
        }
    }

    /// The error code (`code` attribute); `None` for the bare 403.
    pub fn code(&self) -> Option<&'static str> {
        Some(match self {
            ApiError::ProviderKeyOrServiceTokenRequired => "provider_key_or_service_token_required",
            ApiError::ServiceIdMissing => "service_id_missing",
            ApiError::ServiceTokenInvalid { .. } => "service_token_invalid",
            ApiError::EndUsersNoLongerSupported => "end_users_no_longer_supported",
            ApiError::UsageNotAHash => return None,
            ApiError::AuthenticationError => "authentication_error",
            ApiError::UserKeyInvalid(_) => "user_key_invalid",
            ApiError::ApplicationNotFound(_) => "application_not_found",
            ApiError::MetricInvalid(_) => "metric_invalid",
            ApiError::UsageValueInvalid { .. } => "usage_value_invalid",
            ApiError::NotValidData => "not_valid_data",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::ContentTypeInvalid(_) => "content_type_invalid",
            ApiError::TransactionsIsBlank => "transactions_is_blank",
            ApiError::TransactionsFormatInvalid => "transactions_format_invalid",
            ApiError::TransactionsHasNilTransaction => "transactions_has_nil_transaction",
        })
    }

    /// The human message (element text).
    pub fn message(&self) -> String {
        match self {
            ApiError::ProviderKeyOrServiceTokenRequired => {
                "Provider key or service token are required".to_string()
            }
            ApiError::ServiceIdMissing => "Service ID is missing".to_string(),
            ApiError::ServiceTokenInvalid { token, service_id } => {
                format!(r#"service token "{token}" or service id "{service_id}" is invalid"#)
            }
            ApiError::EndUsersNoLongerSupported => {
                "End-users are no longer supported, do not specify the user_id parameter"
                    .to_string()
            }
            ApiError::UsageNotAHash => String::new(),
            ApiError::AuthenticationError => {
                "either app_id or user_key is allowed, not both".to_string()
            }
            // apisonator since dd18966d: a blank credential is "missing".
            ApiError::UserKeyInvalid(key) if key.trim().is_empty() => {
                "user key is missing".to_string()
            }
            ApiError::UserKeyInvalid(key) => format!(r#"user key "{key}" is invalid"#),
            ApiError::ApplicationNotFound(id) => match id.as_deref() {
                Some(id) if !id.trim().is_empty() => {
                    format!(r#"application with id="{id}" was not found"#)
                }
                _ => "application id is missing".to_string(),
            },
            ApiError::MetricInvalid(name) => format!(r#"metric "{name}" is invalid"#),
            ApiError::UsageValueInvalid { metric, value } => match value {
                Some(value) if !value.trim().is_empty() => {
                    format!(r#"usage value "{value}" for metric "{metric}" is invalid"#)
                }
                _ => format!(r#"usage value for metric "{metric}" can not be empty"#),
            },
            ApiError::NotValidData => "all data must be valid UTF8".to_string(),
            ApiError::BadRequest(message) => message.clone().unwrap_or_else(|| {
                "request contains syntax errors, should not be repeated without modification"
                    .to_string()
            }),
            ApiError::ContentTypeInvalid(content_type) => {
                format!("invalid Content-Type: {content_type}")
            }
            ApiError::TransactionsIsBlank => "transactions parameter is blank".to_string(),
            ApiError::TransactionsFormatInvalid => "transactions format is invalid".to_string(),
            ApiError::TransactionsHasNilTransaction => {
                "transactions has a nil transaction".to_string()
            }
        }
    }

    /// Whether `no_body` empties the error body. apisonator's exception
    /// catcher applies `no_body` to its own errors, but not to the encoding
    /// and syntax errors that Rack raises before the extensions are read.
    pub fn honours_no_body(&self) -> bool {
        !matches!(self, ApiError::NotValidData | ApiError::BadRequest(_))
    }
}

/// Why an authorization is denied (409).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    ApplicationKeyInvalid(Option<String>),
    ApplicationNotActive,
    LimitsExceeded,
}

impl Denial {
    /// The rejection reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Denial::ApplicationKeyInvalid(_) => "application_key_invalid",
            Denial::ApplicationNotActive => "application_not_active",
            Denial::LimitsExceeded => "limits_exceeded",
        }
    }

    /// The `<reason>` text.
    pub fn message(&self) -> String {
        match self {
            Denial::ApplicationKeyInvalid(Some(key)) if !key.trim().is_empty() => {
                format!(r#"application key "{key}" is invalid"#)
            }
            Denial::ApplicationKeyInvalid(_) => "application key is missing".to_string(),
            Denial::ApplicationNotActive => "application is not active".to_string(),
            Denial::LimitsExceeded => "usage limits are exceeded".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_apisonator_classes() {
        let cases = [
            (ApiError::ProviderKeyOrServiceTokenRequired, 403),
            (ApiError::ServiceIdMissing, 422),
            (
                ApiError::ServiceTokenInvalid {
                    token: "t".into(),
                    service_id: "1".into(),
                },
                403,
            ),
            (ApiError::UserKeyInvalid("k".into()), 403),
            (ApiError::ApplicationNotFound(None), 404),
            (ApiError::MetricInvalid("m".into()), 404),
            (
                ApiError::UsageValueInvalid {
                    metric: "m".into(),
                    value: None,
                },
                403,
            ),
            (ApiError::NotValidData, 422),
            (ApiError::TransactionsIsBlank, 400),
            (ApiError::UsageNotAHash, 403),
        ];
        for (error, status) in cases {
            assert_eq!(error.status(), status, "{error:?}");
        }
    }

    #[test]
    fn messages() {
        assert_eq!(
            ApiError::ApplicationNotFound(None).message(),
            "application id is missing"
        );
        assert_eq!(
            ApiError::ApplicationNotFound(Some("7".into())).message(),
            r#"application with id="7" was not found"#
        );
        assert_eq!(
            ApiError::UserKeyInvalid(String::new()).message(),
            "user key is missing"
        );
        assert_eq!(
            ApiError::UsageValueInvalid {
                metric: "hits".into(),
                value: Some("x".into())
            }
            .message(),
            r#"usage value "x" for metric "hits" is invalid"#
        );
        assert_eq!(
            ApiError::UsageValueInvalid {
                metric: "hits".into(),
                value: Some(" ".into())
            }
            .message(),
            r#"usage value for metric "hits" can not be empty"#
        );
        assert_eq!(
            Denial::ApplicationKeyInvalid(Some(String::new())).message(),
            "application key is missing"
        );
        assert_eq!(
            Denial::ApplicationKeyInvalid(Some("k".into())).message(),
            r#"application key "k" is invalid"#
        );
        assert_eq!(ApiError::UsageNotAHash.code(), None);
    }
}
