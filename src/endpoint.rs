//! Where STS lives: partitions, regional/FIPS/dual-stack hosts, the legacy global
//! endpoint, and endpoint overrides (PROTOCOL.md section 4).

use crate::env::Env;
use crate::error::{Error, Result};
use crate::profile::ProfileSet;

/// An AWS partition: a family of regions sharing DNS suffixes.
#[derive(Debug, PartialEq, Eq)]
pub struct Partition {
    /// Partition id, e.g. `aws-cn`.
    pub name: &'static str,
    /// DNS suffix of the regional endpoints.
    pub dns_suffix: &'static str,
    /// DNS suffix of the dual-stack endpoints.
    pub dualstack_suffix: &'static str,
}

const AWS: Partition = Partition {
    name: "aws",
    dns_suffix: "amazonaws.com",
    dualstack_suffix: "api.aws",
};

/// Region prefixes of the `aws` partition.
const AWS_REGION_PREFIXES: &[&str] = &["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"];

/// The partition a region belongs to; regions of unknown form are taken as `aws`, as
/// the SDKs do.
pub fn partition(region: &str) -> &'static Partition {
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
pub fn is_known_region_form(region: &str) -> bool {
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

/// A resolved STS endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `https` (or `http` for an override).
    pub scheme: String,
    /// The `Host` header: host, plus `:port` when not the scheme's default.
    pub host: String,
    /// Base path (empty, or e.g. `/prefix` for an override with a path).
    pub base_path: String,
    /// The region requests are signed for.
    pub signing_region: String,
    /// True when the endpoint came from `AWS_ENDPOINT_URL_STS`/`AWS_ENDPOINT_URL`.
    pub overridden: bool,
    /// How it was chosen, for `-v`.
    pub reason: String,
}

impl Endpoint {
    /// `scheme://host/base_path` followed by `path_and_query` (which starts with `/`).
    pub fn url(&self, path_and_query: &str) -> String {
        format!(
            "{}://{}{}{}",
            self.scheme, self.host, self.base_path, path_and_query
        )
    }

    /// The path of the endpoint's root (`/` or the override's base path plus `/`).
    pub fn root_path(&self) -> String {
        format!("{}/", self.base_path)
    }
}

/// The settings that choose the STS endpoint.
#[derive(Debug, Clone, Default)]
pub struct EndpointConfig {
    /// Region, if any was given.
    pub region: Option<String>,
    /// `AWS_USE_FIPS_ENDPOINT=true`.
    pub fips: bool,
    /// `AWS_USE_DUALSTACK_ENDPOINT=true`.
    pub dualstack: bool,
    /// `AWS_STS_REGIONAL_ENDPOINTS=legacy`.
    pub legacy_global: bool,
    /// `AWS_ENDPOINT_URL_STS` or `AWS_ENDPOINT_URL`, unless ignored.
    pub override_url: Option<String>,
}

impl EndpointConfig {
    /// Reads the endpoint settings from the environment; `region` is the already
    /// resolved region (flag or environment).
    pub fn from_env(env: &Env, region: Option<String>) -> Result<Self> {
        Self::load(env, &ProfileSet::default(), "default", region)
    }

    /// Reads the endpoint settings from the environment, then the selected profile
    /// (`sts_regional_endpoints`, `use_fips_endpoint`, `use_dualstack_endpoint`,
    /// `endpoint_url`, its `services` section's `sts` `endpoint_url`,
    /// `ignore_configured_endpoint_urls`).
    pub fn load(
        env: &Env,
        profiles: &ProfileSet,
        profile: &str,
        region: Option<String>,
    ) -> Result<Self> {
        let setting = |var: &str, key: &str| -> Option<String> {
            env.get(var)
                .map(str::to_owned)
                .or_else(|| profiles.get(profile, key).map(|v| v.trim().to_owned()))
        };
        let flag = |var: &str, key: &str| {
            setting(var, key).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        };
        let legacy_global = match setting("AWS_STS_REGIONAL_ENDPOINTS", "sts_regional_endpoints").as_deref() {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("regional") => false,
            Some(v) if v.eq_ignore_ascii_case("legacy") => true,
            Some(v) => {
                return Err(Error::InvalidInput(format!(
                    "AWS_STS_REGIONAL_ENDPOINTS (or sts_regional_endpoints) is {v:?}; use \"regional\" or \"legacy\""
                )))
            }
        };
        let override_url = if flag(
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
            "ignore_configured_endpoint_urls",
        ) {
            None
        } else {
            env.get("AWS_ENDPOINT_URL_STS")
                .or_else(|| env.get("AWS_ENDPOINT_URL"))
                .map(str::to_owned)
                .or_else(|| profiles.service_setting(profile, "sts", "endpoint_url"))
                .or_else(|| {
                    profiles
                        .get(profile, "endpoint_url")
                        .map(|v| v.trim().to_owned())
                })
        };
        Ok(EndpointConfig {
            region,
            fips: flag("AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint"),
            dualstack: flag("AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint"),
            legacy_global,
            override_url,
        })
    }
}

/// Validates a region name: a DNS label of lowercase letters, digits and dashes.
pub fn validate_region(region: &str) -> Result<()> {
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

/// Resolves the STS endpoint.
pub fn resolve_sts(cfg: &EndpointConfig) -> Result<Endpoint> {
    if let Some(region) = &cfg.region {
        validate_region(region)?;
    }
    if let Some(url) = &cfg.override_url {
        let (scheme, host, base_path) = parse_endpoint_url(url)?;
        return Ok(Endpoint {
            scheme,
            host,
            base_path,
            signing_region: cfg.region.clone().unwrap_or_else(|| "us-east-1".into()),
            overridden: true,
            reason: format!("endpoint override {url}"),
        });
    }
    let global = |reason: String| Endpoint {
        scheme: "https".into(),
        host: "sts.amazonaws.com".into(),
        base_path: String::new(),
        signing_region: "us-east-1".into(),
        overridden: false,
        reason,
    };
    let Some(region) = cfg.region.as_deref() else {
        return Ok(global(
            "no region set (--region, AWS_REGION, AWS_DEFAULT_REGION): using the global \
             endpoint, signed for us-east-1, as aws-cli does"
                .into(),
        ));
    };
    if !cfg.fips
        && !cfg.dualstack
        && (region == "aws-global"
            || (cfg.legacy_global && LEGACY_GLOBAL_REGIONS.contains(&region)))
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
    let host = match (cfg.fips, cfg.dualstack) {
        (false, false) => format!("sts.{region}.{}", p.dns_suffix),
        (true, false) if p.name == "aws-us-gov" => format!("sts.{region}.{}", p.dns_suffix),
        (true, false) => format!("sts-fips.{region}.{}", p.dns_suffix),
        (false, true) => format!("sts.{region}.{}", p.dualstack_suffix),
        (true, true) => format!("sts-fips.{region}.{}", p.dualstack_suffix),
    };
    Ok(Endpoint {
        scheme: "https".into(),
        host,
        base_path: String::new(),
        signing_region: region.into(),
        overridden: false,
        reason: format!("regional endpoint of {region} (partition {})", p.name),
    })
}

/// Splits an endpoint URL into scheme, `Host` header value and base path.
pub fn parse_endpoint_url(url: &str) -> Result<(String, String, String)> {
    let bad = |why: &str| {
        Error::InvalidInput(format!(
            "endpoint URL {url:?} is not valid: {why}; use e.g. https://sts.example.com or http://127.0.0.1:5000"
        ))
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(bad("the scheme must be http or https"));
    }
    if rest.contains(['?', '#', '@']) || rest.bytes().any(|b| b.is_ascii_whitespace() || b < 0x20) {
        return Err(bad("it must not have a query, fragment, user or spaces"));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if authority.is_empty() {
        return Err(bad("no host"));
    }
    let authority = authority.to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let host = authority
        .strip_suffix(default_port)
        .map(str::to_owned)
        .unwrap_or(authority);
    if let Some((_, port)) = host.rsplit_once(':').filter(|_| !host.ends_with(']')) {
        if port.parse::<u16>().is_err() {
            return Err(bad("the port is not a number"));
        }
    }
    Ok((scheme, host, path.trim_end_matches('/').to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(region: Option<&str>, fips: bool, dualstack: bool, legacy: bool) -> (String, String) {
        let e = resolve_sts(&EndpointConfig {
            region: region.map(str::to_owned),
            fips,
            dualstack,
            legacy_global: legacy,
            override_url: None,
        })
        .unwrap();
        (e.host, e.signing_region)
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
    fn override_is_used_as_is() {
        let e = resolve_sts(&EndpointConfig {
            region: Some("eu-west-1".into()),
            override_url: Some("http://127.0.0.1:5000/".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(e.url("/?a=b"), "http://127.0.0.1:5000/?a=b");
        assert_eq!(e.host, "127.0.0.1:5000");
        assert_eq!(e.signing_region, "eu-west-1");
        assert!(e.overridden);
        let (_, host, _) = parse_endpoint_url("https://STS.example.com:443").unwrap();
        assert_eq!(host, "sts.example.com");
        assert!(parse_endpoint_url("ftp://x").is_err());
        assert!(parse_endpoint_url("127.0.0.1:5000").is_err());
        assert!(parse_endpoint_url("http://h:abc").is_err());
    }

    #[test]
    fn env_empty_counts_as_unset() {
        let env = Env::from_pairs([
            ("AWS_ENDPOINT_URL_STS", ""),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_STS_REGIONAL_ENDPOINTS", ""),
        ]);
        let cfg = EndpointConfig::from_env(&env, None).unwrap();
        assert_eq!(cfg.override_url.as_deref(), Some("http://127.0.0.1:1"));
        assert!(!cfg.legacy_global);
        let env = Env::from_pairs([
            ("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ]);
        assert!(EndpointConfig::from_env(&env, None)
            .unwrap()
            .override_url
            .is_none());
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
