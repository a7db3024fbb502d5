//! The one endpoint resolver, for every service eks-token calls (STS, EKS, the SSO
//! portal): partitions, regional/FIPS/dual-stack hosts, the legacy global STS endpoint,
//! and endpoint overrides with `ignore_configured_endpoint_urls`,
//! the same rules for each service.

use crate::config_files::ProfileSet;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::url::{self, Url};

/// An AWS partition: a family of regions sharing DNS suffixes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Partition {
    /// Partition id, e.g. `aws-cn`.
    pub(crate) name: &'static str,
    /// DNS suffix of the regional endpoints.
    pub(crate) dns_suffix: &'static str,
    /// DNS suffix of the dual-stack endpoints.
    pub(crate) dualstack_suffix: &'static str,
}

const AWS: Partition = Partition {
    name: "aws",
    dns_suffix: "amazonaws.com",
    dualstack_suffix: "api.aws",
};

/// Region prefixes of the `aws` partition.
const AWS_REGION_PREFIXES: &[&str] = &["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"];

/// The partitions, each with the prefixes of its regions (longer prefixes first:
/// `us-isob` before `us-iso`, all before the `aws` partition's `us`).
static PARTITIONS: [(&[&str], Partition); 8] = [
    (
        &["us-gov"],
        Partition {
            name: "aws-us-gov",
            dns_suffix: "amazonaws.com",
            dualstack_suffix: "api.aws",
        },
    ),
    (
        &["us-isob"],
        Partition {
            name: "aws-iso-b",
            dns_suffix: "sc2s.sgov.gov",
            dualstack_suffix: "sc2s.sgov.gov",
        },
    ),
    (
        &["us-isof"],
        Partition {
            name: "aws-iso-f",
            dns_suffix: "csp.hci.ic.gov",
            dualstack_suffix: "csp.hci.ic.gov",
        },
    ),
    (
        &["us-iso"],
        Partition {
            name: "aws-iso",
            dns_suffix: "c2s.ic.gov",
            dualstack_suffix: "c2s.ic.gov",
        },
    ),
    (
        &["eu-isoe"],
        Partition {
            name: "aws-iso-e",
            dns_suffix: "cloud.adc-e.uk",
            dualstack_suffix: "cloud.adc-e.uk",
        },
    ),
    (
        &["eusc-de"],
        Partition {
            name: "aws-eusc",
            dns_suffix: "amazonaws.eu",
            dualstack_suffix: "api.amazonwebservices.eu",
        },
    ),
    (
        &["cn"],
        Partition {
            name: "aws-cn",
            dns_suffix: "amazonaws.com.cn",
            dualstack_suffix: "api.amazonwebservices.com.cn",
        },
    ),
    (AWS_REGION_PREFIXES, AWS),
];

/// Whether `name` is a partition (`aws`, `aws-cn`, ...), as in an ARN.
pub(crate) fn is_partition(name: &str) -> bool {
    PARTITIONS.iter().any(|(_, p)| p.name == name)
}

/// The partition a region belongs to; regions of unknown form are taken as `aws`, as
/// the SDKs do.
pub(crate) fn partition(region: &str) -> &'static Partition {
    for (prefixes, p) in &PARTITIONS {
        for prefix in *prefixes {
            // `<prefix>-\w+-\d+`
            if let Some(rest) = region
                .strip_prefix(prefix)
                .and_then(|r| r.strip_prefix('-'))
            {
                if let Some((word, num)) = rest.split_once('-') {
                    if !word.is_empty()
                        && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                        && !num.is_empty()
                        && num.bytes().all(|b| b.is_ascii_digit())
                    {
                        return p;
                    }
                }
            }
        }
    }
    &AWS
}

/// Whether `region` has the form of a known partition's region.
pub(crate) fn is_known_region_form(region: &str) -> bool {
    let p = partition(region);
    p != &AWS || {
        let first = region.split('-').next().unwrap_or("");
        AWS_REGION_PREFIXES.contains(&first)
            && region.split('-').count() == 3
            && region
                .rsplit('-')
                .next()
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    }
}

/// Regions that `AWS_STS_REGIONAL_ENDPOINTS=legacy` sends to the global endpoint.
const LEGACY_GLOBAL_REGIONS: &[&str] = &[
    "ap-northeast-1",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "aws-global",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// A service eks-token calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    Sts,
    Eks,
    /// The IAM Identity Center portal (GetRoleCredentials).
    SsoPortal,
}

impl Service {
    /// The suffix of its `AWS_ENDPOINT_URL_<ID>` variable.
    fn env_id(self) -> &'static str {
        match self {
            Service::Sts => "STS",
            Service::Eks => "EKS",
            Service::SsoPortal => "SSO",
        }
    }

    /// Its name in a profile's `services` section.
    fn config_id(self) -> &'static str {
        match self {
            Service::Sts => "sts",
            Service::Eks => "eks",
            Service::SsoPortal => "sso",
        }
    }

    fn host_prefix(self) -> &'static str {
        match self {
            Service::Sts => "sts",
            Service::Eks => "eks",
            Service::SsoPortal => "portal.sso",
        }
    }
}

/// A resolved endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// Scheme, host, port and base path (https unless overridden).
    pub(crate) url: Url,
    /// The region requests are signed for.
    pub(crate) signing_region: String,
    /// True when it came from an endpoint override.
    pub(crate) overridden: bool,
    /// How it was chosen, for `-v`.
    pub(crate) reason: String,
}

impl Endpoint {
    /// The `Host` header: host, plus `:port` when not the scheme's default.
    pub(crate) fn host(&self) -> String {
        self.url.authority()
    }

    /// The URL of `path_and_query` (which starts with `/`) under the base path.
    pub(crate) fn join(&self, path_and_query: &str) -> String {
        self.url.join(path_and_query)
    }

    /// The path of `path` (which starts with `/`) under the base path, as signed.
    pub(crate) fn path(&self, path: &str) -> String {
        format!("{}{path}", self.url.path.trim_end_matches('/'))
    }
}

/// The settings that choose endpoints, read once per run from the environment and the
/// selected profile. Overrides are kept as written and parsed when their service is
/// resolved, so that a bad one is refused, naming where it came from, before any request
/// to that service.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    /// The configured region (flag, environment, profile), if any.
    pub(crate) region: Option<String>,
    fips: bool,
    dualstack: bool,
    legacy_global: bool,
    ignore_overrides: bool,
    /// `(service, origin, url)`, `None` for the general override, in priority order.
    overrides: Vec<(Option<Service>, String, String)>,
}

impl Settings {
    /// Reads the settings from the environment, then the selected profile:
    /// `AWS_USE_FIPS_ENDPOINT` / `use_fips_endpoint`, `AWS_USE_DUALSTACK_ENDPOINT` /
    /// `use_dualstack_endpoint`, `AWS_STS_REGIONAL_ENDPOINTS` / `sts_regional_endpoints`,
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` / `ignore_configured_endpoint_urls`,
    /// `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the profile's `services`
    /// section and `endpoint_url`.
    pub(crate) fn load(
        env: &Env,
        profiles: &ProfileSet,
        profile: &str,
        region: Option<String>,
    ) -> Result<Self> {
        let setting = |var: &str, key: &str| profiles.setting(env, profile, var, key).map(|s| s.0);
        let flag = |var: &str, key: &str| {
            setting(var, key).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        };
        let legacy_global = match setting("AWS_STS_REGIONAL_ENDPOINTS", "sts_regional_endpoints")
            .as_deref()
        {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("regional") => false,
            Some(v) if v.eq_ignore_ascii_case("legacy") => true,
            Some(v) => {
                return Err(Error::InvalidInput(format!(
                    "AWS_STS_REGIONAL_ENDPOINTS (or sts_regional_endpoints) is {v:?}; use \"regional\" or \"legacy\""
                )))
            }
        };
        if let Some(r) = &region {
            validate_region(r)?;
        }
        let mut overrides = Vec::new();
        for service in [Service::Sts, Service::Eks, Service::SsoPortal] {
            let var = format!("AWS_ENDPOINT_URL_{}", service.env_id());
            if let Some(v) = env.get(&var) {
                overrides.push((Some(service), var, v.to_owned()));
            }
        }
        if let Some(v) = env.get("AWS_ENDPOINT_URL") {
            overrides.push((None, "AWS_ENDPOINT_URL".into(), v.to_owned()));
        }
        if let Some(section) = profiles.get(profile, "services") {
            for service in [Service::Sts, Service::Eks, Service::SsoPortal] {
                if let Some(v) =
                    profiles.service_setting(profile, service.config_id(), "endpoint_url")
                {
                    let origin = format!(
                        "endpoint_url of `{}` in [services {section}] (profile `{profile}`)",
                        service.config_id()
                    );
                    overrides.push((Some(service), origin, v));
                }
            }
        }
        if let Some(v) = profiles.get(profile, "endpoint_url") {
            let origin = format!("endpoint_url of profile `{profile}`");
            overrides.push((None, origin, v.trim().to_owned()));
        }
        Ok(Settings {
            region,
            fips: flag("AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint"),
            dualstack: flag("AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint"),
            legacy_global,
            ignore_overrides: flag(
                "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
                "ignore_configured_endpoint_urls",
            ),
            overrides,
        })
    }

    /// The override for `service`, parsed: `AWS_ENDPOINT_URL_<SERVICE>`,
    /// `AWS_ENDPOINT_URL`, the profile's `services` section, the profile's `endpoint_url`.
    pub(crate) fn override_for(&self, service: Service) -> Result<Option<Url>> {
        if self.ignore_overrides {
            return Ok(None);
        }
        // Kept in priority order (environment per service, environment, profile per
        // service, profile): the first that applies wins.
        let found = self
            .overrides
            .iter()
            .find(|(s, ..)| s.is_none_or(|s| s == service));
        let Some((_, origin, text)) = found else {
            return Ok(None);
        };
        url::parse(text)
            .and_then(Url::without_query)
            .map(Some)
            .map_err(|why| Error::url(origin, text, why))
    }
}

/// Validates a region name: a DNS label of lowercase letters, digits and dashes.
pub(crate) fn validate_region(region: &str) -> Result<()> {
    let ok = !region.is_empty()
        && region.len() <= 63
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !region.starts_with('-')
        && !region.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "region {region:?} is not a valid region name (e.g. us-east-1); fix --region or AWS_REGION"
        )))
    }
}

fn https(host: String) -> Url {
    Url {
        scheme: url::Scheme::Https,
        host,
        port: None,
        path: String::new(),
        query: None,
        userinfo: None,
    }
}

/// Resolves the endpoint of `service` in `region` (the configured region when `None`;
/// the SSO portal passes its `sso_region`).
pub(crate) fn resolve(
    service: Service,
    settings: &Settings,
    region: Option<&str>,
) -> Result<Endpoint> {
    let region = region.or(settings.region.as_deref());
    if let Some(r) = region {
        validate_region(r)?;
    }
    if let Some(url) = settings.override_for(service)? {
        let reason = format!("endpoint override {url}");
        return Ok(Endpoint {
            url,
            signing_region: region.unwrap_or("us-east-1").to_owned(),
            overridden: true,
            reason,
        });
    }
    let global = |reason: String| Endpoint {
        url: https("sts.amazonaws.com".into()),
        signing_region: "us-east-1".into(),
        overridden: false,
        reason,
    };
    let Some(region) = region else {
        return match service {
            // aws-cli would presign for sts-fips.aws-global.amazonaws.com, a host that
            // does not exist.
            Service::Sts if settings.fips => Err(Error::InvalidInput(
                "AWS_USE_FIPS_ENDPOINT (or the profile's use_fips_endpoint) asks for a FIPS \
                     endpoint, and FIPS endpoints are regional: set a region (--region, \
                     AWS_REGION, AWS_DEFAULT_REGION or the profile's region); aws-cli would \
                     presign for sts-fips.aws-global.amazonaws.com, a host that does not exist"
                    .into(),
            )),
            Service::Sts => Ok(global(
                "no region set (--region, AWS_REGION, AWS_DEFAULT_REGION): using the global \
                 endpoint, signed for us-east-1, as aws-cli does"
                    .into(),
            )),
            Service::Eks => Err(Error::InvalidInput(
                "EKS has no global endpoint: give a region (--region or AWS_REGION)".into(),
            )),
            Service::SsoPortal => Err(Error::InvalidInput(
                "the SSO profile has no sso_region".into(),
            )),
        };
    };
    if service == Service::Sts
        && !settings.fips
        && !settings.dualstack
        && (region == "aws-global"
            || (settings.legacy_global && LEGACY_GLOBAL_REGIONS.contains(&region)))
    {
        return Ok(global(format!(
            "AWS_STS_REGIONAL_ENDPOINTS=legacy sends {region} to the global endpoint"
        )));
    }
    let region = if region == "aws-global" {
        "us-east-1"
    } else {
        region
    };
    let p = partition(region);
    let prefix = service.host_prefix();
    let fips = settings.fips && !(service == Service::Sts && p.name == "aws-us-gov");
    let fips = if fips { "-fips" } else { "" };
    let suffix = if settings.dualstack {
        p.dualstack_suffix
    } else {
        p.dns_suffix
    };
    Ok(Endpoint {
        url: https(format!("{prefix}{fips}.{region}.{suffix}")),
        signing_region: region.into(),
        overridden: false,
        reason: format!("regional endpoint of {region} (partition {})", p.name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)], region: Option<&str>) -> Settings {
        Settings::load(
            &Env::from_pairs(pairs.iter().copied()),
            &ProfileSet::default(),
            "default",
            region.map(str::to_owned),
        )
        .unwrap()
    }

    fn host(region: Option<&str>, fips: bool, dualstack: bool, legacy: bool) -> (String, String) {
        let mut pairs = vec![];
        if fips {
            pairs.push(("AWS_USE_FIPS_ENDPOINT", "true"));
        }
        if dualstack {
            pairs.push(("AWS_USE_DUALSTACK_ENDPOINT", "true"));
        }
        if legacy {
            pairs.push(("AWS_STS_REGIONAL_ENDPOINTS", "legacy"));
        }
        let e = resolve(Service::Sts, &settings(&pairs, region), None).unwrap();
        (e.host(), e.signing_region)
    }

    #[test]
    fn regional_hosts_by_partition() {
        for (region, want) in [
            ("us-east-1", "sts.us-east-1.amazonaws.com"),
            ("eu-central-2", "sts.eu-central-2.amazonaws.com"),
            ("il-central-1", "sts.il-central-1.amazonaws.com"),
            ("mx-central-1", "sts.mx-central-1.amazonaws.com"),
            ("cn-north-1", "sts.cn-north-1.amazonaws.com.cn"),
            ("us-gov-west-1", "sts.us-gov-west-1.amazonaws.com"),
            ("us-iso-east-1", "sts.us-iso-east-1.c2s.ic.gov"),
            ("us-isob-east-1", "sts.us-isob-east-1.sc2s.sgov.gov"),
            ("eu-isoe-west-1", "sts.eu-isoe-west-1.cloud.adc-e.uk"),
            ("us-isof-south-1", "sts.us-isof-south-1.csp.hci.ic.gov"),
            ("eusc-de-east-1", "sts.eusc-de-east-1.amazonaws.eu"),
        ] {
            assert_eq!(host(Some(region), false, false, false).0, want);
        }
    }

    #[test]
    fn fips_and_dualstack() {
        assert_eq!(
            host(Some("us-west-2"), true, false, false).0,
            "sts-fips.us-west-2.amazonaws.com"
        );
        assert_eq!(
            host(Some("us-gov-east-1"), true, false, false).0,
            "sts.us-gov-east-1.amazonaws.com"
        );
        assert_eq!(
            host(Some("us-west-2"), false, true, false).0,
            "sts.us-west-2.api.aws"
        );
        assert_eq!(
            host(Some("us-west-2"), true, true, false).0,
            "sts-fips.us-west-2.api.aws"
        );
        assert_eq!(
            host(Some("cn-northwest-1"), false, true, false).0,
            "sts.cn-northwest-1.api.amazonwebservices.com.cn"
        );
        assert_eq!(
            host(Some("eusc-de-east-1"), false, true, false).0,
            "sts.eusc-de-east-1.api.amazonwebservices.eu"
        );
    }

    #[test]
    fn legacy_and_global() {
        assert_eq!(
            host(Some("eu-west-1"), false, false, true),
            ("sts.amazonaws.com".into(), "us-east-1".into())
        );
        // Not in the legacy list: stays regional.
        assert_eq!(
            host(Some("af-south-1"), false, false, true).0,
            "sts.af-south-1.amazonaws.com"
        );
        assert_eq!(
            host(None, false, false, false),
            ("sts.amazonaws.com".into(), "us-east-1".into())
        );
        assert_eq!(
            host(Some("aws-global"), false, false, false),
            ("sts.amazonaws.com".into(), "us-east-1".into())
        );
    }

    #[test]
    fn same_rules_for_every_service() {
        let s = settings(
            &[
                ("AWS_USE_FIPS_ENDPOINT", "true"),
                ("AWS_USE_DUALSTACK_ENDPOINT", "true"),
            ],
            Some("us-east-2"),
        );
        assert_eq!(
            resolve(Service::Eks, &s, None).unwrap().host(),
            "eks-fips.us-east-2.api.aws"
        );
        assert_eq!(
            resolve(Service::SsoPortal, &s, Some("eu-west-1"))
                .unwrap()
                .host(),
            "portal.sso-fips.eu-west-1.api.aws"
        );
        assert!(resolve(Service::Eks, &settings(&[], None), None).is_err());
    }

    #[test]
    fn overrides_by_service_then_general() {
        let s = settings(
            &[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
                ("AWS_ENDPOINT_URL_EKS", "http://127.0.0.1:2/base/"),
            ],
            Some("eu-west-1"),
        );
        let sts = resolve(Service::Sts, &s, None).unwrap();
        assert_eq!(sts.join("/?a=b"), "http://127.0.0.1:1/?a=b");
        assert_eq!(sts.signing_region, "eu-west-1");
        assert!(sts.overridden);
        let eks = resolve(Service::Eks, &s, None).unwrap();
        assert_eq!(
            eks.join("/clusters/x"),
            "http://127.0.0.1:2/base/clusters/x"
        );
        assert_eq!(eks.path("/clusters/x"), "/base/clusters/x");
        let ignored = settings(
            &[
                ("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1"),
                ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
            ],
            None,
        );
        assert!(!resolve(Service::Sts, &ignored, None).unwrap().overridden);
        let empty = settings(
            &[
                ("AWS_ENDPOINT_URL_STS", ""),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:3"),
            ],
            None,
        );
        assert_eq!(
            resolve(Service::Sts, &empty, None).unwrap().host(),
            "127.0.0.1:3"
        );
    }

    #[test]
    fn profile_overrides_come_after_the_environment() {
        let set = crate::config_files::parse(
            Some("[profile dev]\nservices = local\nendpoint_url = http://127.0.0.1:9\n[services local]\nsts =\n  endpoint_url = http://127.0.0.1:5000\n"),
            None,
        )
        .unwrap();
        let load = |pairs: &[(&str, &str)]| {
            Settings::load(&Env::from_pairs(pairs.iter().copied()), &set, "dev", None).unwrap()
        };
        let s = load(&[]);
        assert_eq!(
            resolve(Service::Sts, &s, None).unwrap().host(),
            "127.0.0.1:5000"
        );
        assert_eq!(
            resolve(Service::Eks, &s, Some("us-east-1")).unwrap().host(),
            "127.0.0.1:9"
        );
        let s = load(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:7")]);
        assert_eq!(
            resolve(Service::Sts, &s, None).unwrap().host(),
            "127.0.0.1:7"
        );
    }

    #[test]
    fn overrides_with_a_user_part_are_refused_naming_their_origin() {
        let s = settings(
            &[("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:80@evil.example/")],
            None,
        );
        let e = resolve(Service::Sts, &s, None).unwrap_err().to_string();
        assert!(
            e.starts_with("AWS_ENDPOINT_URL_STS \"http://***@evil.example/\""),
            "{e}"
        );
        let s = settings(&[("AWS_ENDPOINT_URL", "http://h/?q=1")], None);
        assert!(resolve(Service::Sts, &s, None).is_err());
    }

    #[test]
    fn region_validation() {
        assert!(validate_region("us-east-1").is_ok());
        assert!(validate_region("US-EAST-1").is_err());
        assert!(validate_region("us_east").is_err());
        assert!(validate_region("evil.com/").is_err());
        assert!(is_known_region_form("ap-southeast-4"));
        assert!(is_known_region_form("cn-north-1"));
        assert!(!is_known_region_form("us-east1"));
    }
}
