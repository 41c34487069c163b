//! The HTTP context: one per request. It hands each hook to the plugin's core and
//! carries out the [`Step`] that comes back; the request's state is the core's
//! [`Exchange`].

use std::cell::RefCell;
use std::rc::Rc;

use super::abi::Action;
use super::host::{self, HostRequest, ProxyHost};
use super::metrics::Metrics;
use crate::plugin::{self, Exchange, Plugin, Step};

/// One request.
pub struct Http {
    /// The plugin of the configuration the request started with; `None` when that
    /// configuration was refused.
    plugin: Option<Rc<RefCell<Plugin>>>,
    metrics: Rc<Metrics>,
    exchange: Exchange,
}

impl Http {
    /// A request context of `plugin`.
    pub fn new(plugin: Option<Rc<RefCell<Plugin>>>, metrics: Rc<Metrics>) -> Self {
        Http {
            plugin,
            metrics,
            exchange: Exchange::default(),
        }
    }
}

/// What a hook returns to the host for a step, after carrying it out.
fn carry_out(step: Step) -> Action {
    match step {
        Step::Continue(forward) => {
            host::forward(&forward);
            Action::Continue
        }
        Step::Reply(reply) => {
            host::reply(&reply);
            Action::Pause
        }
        Step::Wait => Action::Pause,
    }
}

impl Http {
    /// A request of a plugin without a configuration: refused.
    pub fn unconfigured() -> Self {
        Http::new(None, Rc::default())
    }

    /// The request's headers: decided, or held for 3scale's answer.
    pub fn on_request_headers(&mut self) -> Action {
        let mut proxy = ProxyHost {
            metrics: &self.metrics,
        };
        let step = match self.plugin.as_ref().map(|p| p.try_borrow_mut()) {
            Some(Ok(mut plugin)) => {
                plugin.on_request_headers(&mut self.exchange, &HostRequest::default(), &mut proxy)
            }
            _ => plugin::unconfigured(&mut proxy),
        };
        carry_out(step)
    }

    /// The upstream's response headers: what the filter adds to them.
    pub fn on_response_headers(&mut self) -> Action {
        if cfg!(feature = "ablate-response-headers") {
            return Action::Continue;
        }
        if let Some(Ok(plugin)) = self.plugin.as_ref().map(|p| p.try_borrow()) {
            plugin.response_headers(&self.exchange, &mut host::add_response_header);
        }
        Action::Continue
    }

    /// The answer to the authorization call the request waits for.
    pub fn on_http_call_response(&mut self, body_size: usize) {
        let mut proxy = ProxyHost {
            metrics: &self.metrics,
        };
        let Some(Ok(mut plugin)) = self.plugin.as_ref().map(|p| p.try_borrow_mut()) else {
            return;
        };
        let step = plugin.on_authrep_answer(&mut self.exchange, body_size, &mut proxy);
        drop(plugin);
        if let Some(step) = step
            && let Action::Continue = carry_out(step)
        {
            host::resume_request();
        }
    }

    /// The request ends: the core settles what it owes for it.
    pub fn on_done(&mut self) {
        let mut proxy = ProxyHost {
            metrics: &self.metrics,
        };
        // A hook never runs inside another, so the plugin is never borrowed here.
        if let Some(Ok(mut plugin)) = self.plugin.as_ref().map(|p| p.try_borrow_mut()) {
            plugin.on_request_done(&mut self.exchange, &mut proxy);
        }
    }
}
