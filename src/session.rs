//! The session of a run: what every call to AWS shares (the HTTP client and its
//! deadline, the endpoint settings, the retry policy, the region learnt on the way, the
//! log, the clock as the servers keep it, the caller's way to stop), apart from the
//! calls themselves ([`crate::sts`], [`crate::eks`], the sources).

use std::cell::{Cell, OnceCell, RefCell};

use time::{Duration, OffsetDateTime};

use crate::endpoint::{self, Endpoint, Service, Settings};
use crate::error::Result;
use crate::http::Client;
use crate::log::{vlog, Log};
use crate::retry;
use crate::runtime::Stop;

/// One run's connection to AWS: the HTTP client (its deadline included), the endpoint
/// settings, the retry policy, and the STS endpoint, resolved on first use: by then a
/// source such as IMDS may have told the region.
pub(crate) struct Session {
    http: Client,
    settings: Settings,
    retry: retry::Policy,
    endpoint: OnceCell<Endpoint>,
    region_hint: RefCell<Option<String>>,
    log: Log,
    stop: Stop,
    clock: Clock,
}

impl Session {
    /// A session through `http`, at the endpoints `settings` choose, retrying as
    /// `retry` says, logging to `log`, stopped by `stop`.
    pub(crate) fn new(
        http: Client,
        settings: Settings,
        retry: retry::Policy,
        log: Log,
        stop: Stop,
    ) -> Self {
        Session {
            http,
            settings,
            retry,
            endpoint: OnceCell::new(),
            region_hint: RefCell::new(None),
            log,
            stop,
            clock: Clock::default(),
        }
    }

    /// The run's HTTP client.
    pub(crate) fn http(&self) -> &Client {
        &self.http
    }

    /// The run's log.
    pub(crate) fn log(&self) -> &Log {
        &self.log
    }

    /// The caller's way to stop the run.
    pub(crate) fn stop(&self) -> &Stop {
        &self.stop
    }

    /// The clock the servers keep, as far as the run knows it.
    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
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

    /// The region a source (IMDS) told, if one did.
    pub(crate) fn region_hint(&self) -> Option<String> {
        self.region_hint.borrow().clone()
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

    /// [`retry::run`] in this session: `attempts` at most (the policy's, or a
    /// source's own), within its deadline, until stopped.
    pub(crate) fn retrying<T>(
        &self,
        attempts: u32,
        what: &str,
        attempt: impl FnMut(&retry::Attempt) -> std::result::Result<T, retry::Failed>,
    ) -> Result<T> {
        retry::run(&self.http, &self.log, &self.stop, attempts, what, attempt)
    }

    /// The STS endpoint (resolved once).
    pub(crate) fn sts_endpoint(&self) -> Result<&Endpoint> {
        if let Some(e) = self.endpoint.get() {
            return Ok(e);
        }
        let region = self.region();
        let e = endpoint::resolve(Service::Sts, &self.settings, region.as_deref())?;
        vlog!(self.log, "STS endpoint {} ({})", e.join("/"), e.reason);
        Ok(self.endpoint.get_or_init(|| e))
    }
}

/// Skew below this is left alone (the SDKs' threshold).
pub(crate) const SKEW_THRESHOLD: Duration = Duration::minutes(4);

/// The servers' clock (STS's, EKS's: AWS keeps one time) as this run knows it: our
/// clock corrected by the skew an answer's `Date` showed, or one a cached session
/// carries from the run that made it. Everything signed, and every expiry (a time of
/// STS's), is judged on it; an `expirationTimestamp` for kubectl is in our own clock.
#[derive(Default)]
pub(crate) struct Clock {
    /// Server clock minus ours; `None` until something told.
    skew: Cell<Option<Duration>>,
    /// Learnt in this run from a server (not from a cache entry).
    observed: Cell<bool>,
}

impl Clock {
    /// The time to sign with and to judge expiries by: ours, corrected by the servers'
    /// when they disagree by more than [`SKEW_THRESHOLD`].
    pub(crate) fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        // A server Date is at most year 9999: the sum stays representable, but a
        // malicious one must not be able to make it panic.
        now.checked_add(self.correction()).unwrap_or(now)
    }

    /// What is added to our clock: the skew when beyond the threshold, else zero.
    pub(crate) fn correction(&self) -> Duration {
        self.skew
            .get()
            .filter(|s| s.abs() > SKEW_THRESHOLD)
            .unwrap_or(Duration::ZERO)
    }

    /// The skew known, if anything told it (for a cache entry to carry).
    pub(crate) fn skew(&self) -> Option<Duration> {
        self.skew.get()
    }

    /// Records the server clock from an answer's `Date` header: skew = server time minus
    /// the midpoint of sending and receiving. Returns the measured skew.
    pub(crate) fn observe_date(
        &self,
        log: &Log,
        date: &str,
        sent: OffsetDateTime,
        received: OffsetDateTime,
    ) -> Option<Duration> {
        let server = crate::timefmt::parse_http_date(date)?;
        let midpoint = sent + (received - sent) / 2;
        let skew: Duration = server - midpoint;
        let before = self.correction();
        self.skew.set(Some(skew));
        self.observed.set(true);
        if (self.correction() - before).abs() > Duration::seconds(5) {
            say_skew(log, skew, "the server's clock");
        }
        Some(skew)
    }

    /// Adopts the skew a cached session carries, unless this run learnt its own.
    pub(crate) fn adopt(&self, log: &Log, skew: Duration) {
        if self.observed.get() {
            return;
        }
        let before = self.correction();
        self.skew.set(Some(skew));
        if (self.correction() - before).abs() > Duration::seconds(5) {
            say_skew(log, skew, "STS's clock (as the cached session recorded it)");
        }
    }
}

fn say_skew(log: &Log, skew: Duration, whose: &str) {
    if skew.abs() <= SKEW_THRESHOLD {
        vlog!(log, "clock: {whose} agrees with ours");
        return;
    }
    vlog!(
        log,
        "clock skew: {whose} is {} {} ours; signing at the corrected time",
        crate::timefmt::human_duration(skew.whole_seconds().abs()),
        if skew.is_positive() {
            "ahead of"
        } else {
            "behind"
        }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_follows_what_servers_say_and_caches_only_until_then() {
        let log = Log::default();
        let c = Clock::default();
        assert_eq!(c.skew(), None);
        assert_eq!(c.correction(), Duration::ZERO);
        c.adopt(&log, Duration::minutes(20));
        assert_eq!(c.correction(), Duration::minutes(20));
        let now = OffsetDateTime::now_utc();
        let ahead = now + Duration::minutes(30);
        let date = crate::timefmt::format_http_date(ahead);
        c.observe_date(&log, &date, now, now);
        assert!((c.correction() - Duration::minutes(30)).abs() < Duration::seconds(2));
        // What this run saw wins over what a cache entry says.
        c.adopt(&log, Duration::minutes(20));
        assert!((c.correction() - Duration::minutes(30)).abs() < Duration::seconds(2));
        // Within the threshold: no correction, but the skew is known.
        let c = Clock::default();
        c.observe_date(&log, &crate::timefmt::format_http_date(now), now, now);
        assert_eq!(c.correction(), Duration::ZERO);
        assert!(c.skew().is_some());
    }
}
