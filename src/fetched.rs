//! Per-service data fetched from 3scale System (SPEC section 8): the service
//! token and extra mapping rules. Empty until a fetch succeeds.

use std::collections::BTreeMap;

use crate::mapping::RuleSet;

/// What System has supplied so far, per service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fetched {
    services: BTreeMap<usize, FetchedService>,
}

/// The fetched proxy configuration of one service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FetchedService {
    /// `backend_authentication_value`, when System gave one.
    pub token: Option<String>,
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
        self.services.insert(index, service);
    }

    /// The configuration fetched for the service at `index`, if any fetch succeeded.
    pub fn service(&self, index: usize) -> Option<&FetchedService> {
        self.services.get(&index)
    }
}
