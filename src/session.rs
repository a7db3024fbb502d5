//! The session of a run: what every call to AWS shares (the HTTP client and its
//! deadline, the endpoint settings, the retry policy, the region learnt on the way),
//! apart from the calls themselves ([`crate::sts`], [`crate::eks`], the sources).

use std::cell::{OnceCell, RefCell};

use crate::endpoint::{self, Endpoint, Service, Settings};
use crate::error::Result;
use crate::http::Client;
use crate::{retry, vlog};

/// One run's connection to AWS: the HTTP client (its deadline included), the endpoint
/// settings, the retry policy, and the STS endpoint, resolved on first use: by then a
/// source such as IMDS may have told the region.
pub(crate) struct Session {
    http: Client,
    settings: Settings,
    retry: retry::Policy,
    endpoint: OnceCell<Endpoint>,
    region_hint: RefCell<Option<String>>,
}

impl Session {
    /// A session through `http`, at the endpoints `settings` choose, retrying as
    /// `retry` says.
    pub(crate) fn new(http: Client, settings: Settings, retry: retry::Policy) -> Self {
        Session {
            http,
            settings,
            retry,
            endpoint: OnceCell::new(),
            region_hint: RefCell::new(None),
        }
    }

    /// The run's HTTP client.
    pub(crate) fn http(&self) -> &Client {
        &self.http
    }

    /// The endpoint settings of the run (for EKS and the SSO portal too).
    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The region known so far (configured, or learnt from IMDS).
    pub(crate) fn region(&self) -> Option<String> {
        self.settings
            .region
            .clone()
            .or_else(|| self.region_hint.borrow().clone())
    }

    /// A region learnt from a source (IMDS), used when none was configured. Sources run
    /// before anything resolves the endpoint, so the hint is always in time.
    pub(crate) fn set_region_hint(&self, region: &str) {
        if self.endpoint.get().is_none() {
            *self.region_hint.borrow_mut() = Some(region.to_owned());
        }
    }

    /// The retry policy.
    pub(crate) fn retry(&self) -> &retry::Policy {
        &self.retry
    }

    /// The STS endpoint (resolved once).
    pub(crate) fn sts_endpoint(&self) -> Result<&Endpoint> {
        if let Some(e) = self.endpoint.get() {
            return Ok(e);
        }
        let region = self.region();
        let e = endpoint::resolve(Service::Sts, &self.settings, region.as_deref())?;
        vlog!("STS endpoint {} ({})", e.join("/"), e.reason);
        Ok(self.endpoint.get_or_init(|| e))
    }
}
