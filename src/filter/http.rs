//! The HTTP context: one per request. It hands each hook to the plugin's core and
//! carries out the [`Step`] that comes back; the request's state is the core's
//! [`Exchange`].

use std::cell::RefCell;
use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;

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

impl Context for Http {
    fn on_done(&mut self) -> bool {
        let mut proxy = ProxyHost {
            metrics: &self.metrics,
        };
        // A hook never runs inside another, so the plugin is never borrowed here.
        if let Some(Ok(mut plugin)) = self.plugin.as_ref().map(|p| p.try_borrow_mut()) {
            plugin.on_request_done(&mut self.exchange, &mut proxy);
        }
        true
    }

    fn on_http_call_response(&mut self, _: u32, _: usize, body_size: usize, _: usize) {
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
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
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

    fn on_http_response_headers(&mut self, _: usize, _: bool) -> Action {
        if cfg!(feature = "ablate-response-headers") {
            return Action::Continue;
        }
        if let Some(Ok(plugin)) = self.plugin.as_ref().map(|p| p.try_borrow()) {
            plugin.response_headers(&self.exchange, &mut host::add_response_header);
        }
        Action::Continue
    }
}
