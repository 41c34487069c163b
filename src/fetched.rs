//! Per-service data fetched from 3scale System (docs/behaviour.md §8): the service
//! token and extra mapping rules. Empty until a fetch succeeds.

use crate::config::Service;
use crate::mapping::RuleSet;
use crate::model::Secret;

/// What System has supplied so far, per service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fetched {
    /// By the service's index in the configuration's `services`.
    services: Vec<Option<FetchedService>>,
}

/// The fetched proxy configuration of one service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FetchedService {
    /// `backend_authentication_value`, when System gave one.
    pub token: Option<Secret>,
    /// Mapping rules, evaluated after the service's static rules; indexed when
    /// the fetch lands, off the request path.
    pub rules: RuleSet,
}

impl Fetched {
    /// Nothing fetched yet.
    pub fn new() -> Self {
        Fetched::default()
    }

    /// Records the configuration fetched for the service at `index` in `services`.
    pub fn set(&mut self, index: usize, service: FetchedService) {
        if index >= self.services.len() {
            self.services.resize_with(index + 1, || None);
        }
        if let Some(slot) = self.services.get_mut(index) {
            *slot = Some(service);
        }
    }

    /// The configuration fetched for the service at `index`, if any fetch succeeded.
    pub fn service(&self, index: usize) -> Option<&FetchedService> {
        self.services.get(index)?.as_ref()
    }

    /// The token to use for `service` (at `index`): a static `token` wins over the
    /// fetched one (docs/behaviour.md §8). The one place this rule is written.
    pub fn effective_token<'a>(&'a self, index: usize, service: &'a Service) -> Option<&'a Secret> {
        service
            .token
            .as_ref()
            .or_else(|| self.service(index).and_then(|f| f.token.as_ref()))
    }
}
