//! The root context: reads and validates the plugin configuration.

use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType};

use super::http::Http;
use crate::config::{self, Config};
use crate::fetched::Fetched;

/// The plugin's root: one per plugin configuration and VM.
#[derive(Default)]
pub struct Root {
    /// The configuration, shared with every HTTP context without copying.
    config: Option<Rc<Config>>,
    /// What System has supplied so far.
    fetched: Rc<Fetched>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        super::log::follow_host_level();
        let bytes = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
            .ok()
            .flatten()
            .unwrap_or_default();
        match config::parse(&bytes) {
            Ok(config) => {
                for warning in &config.warnings {
                    log::warn!("threescale-wasm-auth configuration: {warning}");
                }
                self.config = Some(Rc::new(config));
                true
            }
            Err(error) => {
                log::error!("invalid threescale-wasm-auth configuration: {error}");
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Http::new(
            self.config.clone(),
            Rc::clone(&self.fetched),
        )))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
