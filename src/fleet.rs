//! A fleet: tokens for several clusters from one process (the shared-services pod that
//! reaches dev, qa and prod, each in its own account). Each cluster is a [`Request`] of
//! its own (its name, region and roles after the base); all stand on one base: the
//! source's credentials (and a profile's role chain) are obtained once and handed to
//! every cluster, whose own hops are then assumed with them, through the cache as for
//! one cluster. The clusters file a ConfigMap mounts ([`parse`]) says which clusters
//! there are and where their tokens go.

use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use yaml_rust2::Yaml;

use crate::eks::Cluster;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::executor::Level;
use crate::issuer::Issuer;
use crate::log::Log;
use crate::request::Request;
use crate::runtime::{MfaPrompt, Runtime, Stop};
use crate::token::Token;
use crate::yaml::{self, Typing};
use crate::{endpoint, validate};

/// The largest clusters file read (a thousand clusters take about 300 KiB).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// The keys of an entry, as a clusters file spells them.
const KEYS: [&str; 10] = [
    "name",
    "roleArn",
    "region",
    "out",
    "kubeconfigOut",
    "server",
    "caData",
    "sessionName",
    "externalId",
    "durationSeconds",
];

/// One cluster of a clusters file. What it leaves out, the command line gives
/// ([`Entry::request`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// `name`: the cluster name signed into its tokens (`x-k8s-aws-id`).
    pub name: String,
    /// `roleArn`: the roles to assume after the base (one, or a list: a chain).
    pub role_arns: Option<Vec<String>>,
    /// `region`.
    pub region: Option<String>,
    /// `sessionName`: RoleSessionName of its hops.
    pub session_name: Option<String>,
    /// `externalId`: ExternalId of its last hop.
    pub external_id: Option<String>,
    /// `durationSeconds` of its hops.
    pub duration_seconds: Option<u32>,
    /// `out`: its token file.
    pub out: Option<PathBuf>,
    /// `kubeconfigOut`: a kubeconfig whose user reads `out` (`tokenFile`).
    pub kubeconfig_out: Option<PathBuf>,
    /// `server`: the API server URL (https), given with `ca_data`: used as it is, no
    /// DescribeCluster.
    pub server: Option<String>,
    /// `caData`: the cluster's CA, base64 of its PEM.
    pub ca_data: Option<String>,
}

impl Entry {
    /// The request for this cluster: `defaults` (the command line's), with what the
    /// entry sets in place of it, key by key.
    pub fn request(&self, defaults: &Request) -> Request {
        let or = |mine: &Option<String>, theirs: &Option<String>| mine.clone().or(theirs.clone());
        Request {
            cluster_id: self.name.clone(),
            role_arns: self
                .role_arns
                .clone()
                .unwrap_or_else(|| defaults.role_arns.clone()),
            region: or(&self.region, &defaults.region),
            session_name: or(&self.session_name, &defaults.session_name),
            external_id: or(&self.external_id, &defaults.external_id),
            duration_seconds: self.duration_seconds.or(defaults.duration_seconds),
            ..defaults.clone()
        }
    }
}

/// The clusters of a clusters file's text (YAML, or JSON), every value checked: a file
/// that is not a list of clusters, an unknown key, a value of the wrong kind, a name or
/// a file named twice is an error naming the entry (`entry 2 (qa): ...`), before any
/// request.
///
/// ```yaml
/// clusters:
/// - name: dev
///   roleArn: arn:aws:iam::222222222222:role/eks-dev-deployer   # or a list: a chain
///   region: eu-west-1
///   out: /var/run/eks/dev/token
/// ```
pub fn parse(text: &str) -> Result<Vec<Entry>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let docs = yaml::documents(text, deadline, Typing::Text);
    let list = match docs.as_ref().map(Vec::as_slice) {
        Ok([Yaml::Hash(top)]) => match (top.len(), top.get(&yaml::key("clusters"))) {
            (1, Some(Yaml::Array(list))) if !list.is_empty() => Ok(list),
            (1, Some(Yaml::Array(_))) => Err("`clusters` is empty".to_owned()),
            (1, Some(_)) => Err("`clusters` is not a list".to_owned()),
            _ => Err("the top holds more, or other, than `clusters:`".to_owned()),
        },
        Ok(_) => Err("no `clusters:` at the top".to_owned()),
        Err(e) => Err(e.to_string()),
    }
    .map_err(|why| {
        Error::InvalidInput(format!(
            "it is not a list of clusters ({why}): write `clusters:` and under it an entry \
             per cluster (name, out, roleArn, region...)"
        ))
    })?;
    let mut entries: Vec<Entry> = Vec::with_capacity(list.len());
    let mut files: Vec<(&PathBuf, usize)> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let e = entry(item).and_then(|e| {
            if let Some(j) = entries.iter().position(|o| o.name == e.name) {
                return Err(format!("the name {:?} is entry {}'s too", e.name, j + 1));
            }
            Ok(e)
        });
        let e = match e {
            Ok(e) => e,
            Err(why) => {
                let name = item["name"].as_str().filter(|n| !n.trim().is_empty());
                let label = name.map_or(String::new(), |n| {
                    format!(" ({})", n.chars().take(80).collect::<String>())
                });
                return Err(Error::InvalidInput(format!(
                    "entry {}{label}: {why}",
                    i + 1
                )));
            }
        };
        entries.push(e);
    }
    // Each file named once: the writer's two entries would overwrite each other.
    for (i, e) in entries.iter().enumerate() {
        for file in [&e.out, &e.kubeconfig_out].into_iter().flatten() {
            if let Some((_, j)) = files.iter().find(|(f, _)| *f == file) {
                return Err(Error::InvalidInput(format!(
                    "entry {} ({}): {} is a file of entry {} too: each file holds one thing",
                    i + 1,
                    e.name,
                    file.display(),
                    j + 1
                )));
            }
            files.push((file, i));
        }
    }
    Ok(entries)
}

/// One entry, its keys, their kinds and their values checked (the values as a
/// request's are, named by their keys); the error says why, for "entry N (name): why".
fn entry(item: &Yaml) -> std::result::Result<Entry, String> {
    let Yaml::Hash(h) = item else {
        return Err("it is not a mapping of name, out, roleArn...".into());
    };
    let mut e = Entry::default();
    for (k, v) in h {
        let key = k.as_str().unwrap_or("");
        let text = |v: &Yaml| match v {
            Yaml::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            _ => Err(format!("`{key}` must be a string, not empty")),
        };
        let slot = match key {
            "name" => {
                e.name = text(v)?;
                continue;
            }
            "roleArn" => {
                e.role_arns = Some(match v {
                    Yaml::Array(items) => items.iter().map(text).collect::<Result<_, _>>()?,
                    _ => vec![text(v)?],
                });
                continue;
            }
            "durationSeconds" => {
                let d = text(v)?
                    .parse()
                    .map_err(|_| "`durationSeconds` is not a number")?;
                e.duration_seconds = Some(d);
                continue;
            }
            "out" | "kubeconfigOut" => {
                let path = Some(PathBuf::from(text(v)?));
                match key {
                    "out" => e.out = path,
                    _ => e.kubeconfig_out = path,
                }
                continue;
            }
            "region" => &mut e.region,
            "sessionName" => &mut e.session_name,
            "externalId" => &mut e.external_id,
            "server" => &mut e.server,
            "caData" => &mut e.ca_data,
            _ => {
                return Err(format!(
                    "unknown key {key:?} (an entry has {})",
                    KEYS.join(", ")
                ))
            }
        };
        *slot = Some(text(v)?);
    }
    if e.name.is_empty() {
        return Err("it has no `name` (the cluster's)".into());
    }
    values(&e).map_err(|e| e.to_string())?;
    match (&e.server, &e.ca_data) {
        (None, None) => Ok(e),
        (Some(server), Some(ca)) => {
            let pem = STANDARD.decode(ca).unwrap_or_default();
            if !server.starts_with("https://") {
                Err("`server` must be an https:// URL: kubectl sends no token over http".into())
            } else if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                Err("`caData` is not base64 of a PEM certificate".into())
            } else {
                Ok(e)
            }
        }
        _ => Err(
            "`server` and `caData` go together (without both, DescribeCluster tells them)".into(),
        ),
    }
}

/// An entry's values checked as a request's are, each named by its key in the file
/// (`roleArn`, not the command line's `--role-arn`).
fn values(e: &Entry) -> Result<()> {
    validate::cluster_id(&e.name)?;
    for arn in e.role_arns.iter().flatten() {
        validate::role_arn(arn, "roleArn")?;
    }
    if let Some(r) = &e.region {
        if endpoint::validate_region(r).is_err() {
            return Err(Error::InvalidInput(format!(
                "region {:?} is not a valid region name (e.g. us-east-1)",
                r.chars().take(80).collect::<String>()
            )));
        }
    }
    if let Some(n) = &e.session_name {
        validate::session_name(n, "sessionName")?;
    }
    if let Some(x) = &e.external_id {
        validate::external_id(x, "externalId")?;
    }
    if let Some(d) = e.duration_seconds {
        validate::duration_seconds(d, "durationSeconds")?;
    }
    Ok(())
}

/// Tokens for several clusters on one base: an issuer per cluster (its region, its
/// hops), the levels their plans share (the source, a profile's role chain) obtained
/// once and handed to each, renewed by whichever cluster needs them first.
pub struct Fleet<'e> {
    members: Vec<Issuer<'e>>,
    /// The first levels of every member's plan, the freshest known.
    shared: Vec<Level>,
    /// How many levels that is.
    depth: usize,
    /// The region their source told (IMDS's), for the clusters that did not ask it.
    region_told: Option<String>,
}

impl<'e> Fleet<'e> {
    /// An issuer for each request (each one cluster's), in `runtime` (its log, stop and
    /// MFA prompt shared): each request validated and planned, no network. They share
    /// their base, so they must agree on what makes it: the profile and the cache.
    pub fn with(requests: &[Request], env: &'e Env, runtime: Runtime) -> Result<Self> {
        let Some(first) = requests.first() else {
            return Err(Error::InvalidInput("a fleet needs a cluster".into()));
        };
        if requests.iter().any(|r| {
            (&r.profile, &r.cache_dir, r.no_cache)
                != (&first.profile, &first.cache_dir, first.no_cache)
        }) {
            return Err(Error::InvalidInput(
                "the clusters of a fleet share their base credentials: give them one profile \
                 and one cache"
                    .into(),
            ));
        }
        let Runtime {
            log,
            stop,
            mfa_prompt,
        } = runtime;
        let prompt = mfa_prompt.map(Rc::new);
        let mut members = Vec::with_capacity(requests.len());
        for request in requests {
            let mfa_prompt = prompt
                .clone()
                .map(|p| -> MfaPrompt { Box::new(move |s| p(s)) });
            let runtime = Runtime {
                log: log.clone(),
                stop: stop.clone(),
                mfa_prompt,
            };
            // A value of one cluster's (a role ARN, a region...) is named with it.
            let mut issuer = Issuer::with(request, env, runtime).map_err(|e| match e {
                Error::InvalidInput(m) if requests.len() > 1 => {
                    Error::InvalidInput(format!("cluster {}: {m}", request.cluster_id))
                }
                other => other,
            })?;
            issuer.own_deadlines();
            members.push(issuer);
        }
        let depth = members.iter().map(Issuer::base_depth).min().unwrap_or(1);
        Ok(Fleet {
            members,
            shared: Vec::new(),
            depth,
            region_told: None,
        })
    }

    /// How many clusters.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether it has none (never: [`Fleet::with`] needs one).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The log the clusters share.
    pub fn log(&self) -> &Log {
        self.members[0].log()
    }

    /// The stop the clusters share.
    pub fn stop(&self) -> &Stop {
        self.members[0].stop()
    }

    /// Whether getting the base runs a program (see [`Issuer::runs_a_program`]).
    pub fn runs_a_program(&self) -> bool {
        self.members[0].runs_a_program()
    }

    /// The profile the requests (or the environment) named; `None` for the default.
    pub fn named_profile(&self) -> Option<&str> {
        self.members[0].named_profile()
    }

    /// The region of cluster `i` known so far.
    pub fn region(&self, i: usize) -> Option<String> {
        self.members[i].region()
    }

    /// New tokens for the clusters `which` (indices into the requests), in that order,
    /// each within a deadline of its own. The shared levels are obtained at most once:
    /// when that fails, the clusters after the first get its failure without asking
    /// again; one cluster's own hop failing fails that cluster alone.
    pub fn issue(&mut self, which: &[usize]) -> Vec<Result<Token>> {
        let mut shared_failed: Option<String> = None;
        let mut out = Vec::with_capacity(which.len());
        for &i in which {
            if let Some(why) = &shared_failed {
                out.push(Err(Error::source("shared", why.clone())));
                continue;
            }
            let token = self.run(i, Issuer::issue);
            if let Err(e) = &token {
                if self.members[i].fresh_levels(self.depth).is_none() {
                    shared_failed = Some(e.to_string());
                }
            }
            out.push(token);
        }
        out
    }

    /// EKS DescribeCluster of cluster `i` with its credentials, within a fresh deadline.
    pub fn describe_cluster(&mut self, i: usize) -> Result<Cluster> {
        self.run(i, |m| {
            let name = m.cluster_id().to_owned();
            m.describe_cluster(&name)
        })
    }

    /// `f` with cluster `i`'s issuer, handed the shared levels first; its own are shared
    /// afterwards when they are fresher.
    fn run<T>(&mut self, i: usize, f: impl FnOnce(&mut Issuer<'e>) -> Result<T>) -> Result<T> {
        let member = &mut self.members[i];
        member.share_levels(&self.shared, self.region_told.as_deref());
        let result = f(member);
        if self.region_told.is_none() {
            self.region_told = member.region_told();
        }
        if let Some(levels) = member.fresh_levels(self.depth) {
            let key = |l: &Level| l.creds.access_key_id.clone();
            if !levels.iter().map(key).eq(self.shared.iter().map(key)) {
                self.shared = levels.to_vec();
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &str = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==";

    #[test]
    fn a_clusters_file_in_yaml_or_json() {
        let yaml = format!(
            "clusters:\n\
             - name: dev\n  roleArn: arn:aws:iam::222222222222:role/dev\n  region: eu-west-1\n  out: /run/dev/token\n\
             - name: qa\n  roleArn: [arn:aws:iam::111111111111:role/hub, arn:aws:iam::333333333333:role/qa]\n  \
               out: /run/qa/token\n  kubeconfigOut: /run/qa/kubeconfig\n  server: https://qa.example\n  caData: {CA}\n  \
               sessionName: ci\n  externalId: qa-ext\n  durationSeconds: 900\n"
        );
        let entries = parse(&yaml).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].role_arns.as_ref().unwrap().len(), 2);
        assert_eq!(entries[1].duration_seconds, Some(900));
        let json = r#"{"clusters": [{"name": "dev", "out": "/t", "durationSeconds": 3600, "roleArn": "arn:aws:iam::222222222222:role/dev"}]}"#;
        let e = &parse(json).unwrap()[0];
        assert_eq!((e.name.as_str(), e.duration_seconds), ("dev", Some(3600)));
        // The command line gives what an entry leaves out.
        let defaults = Request {
            role_arns: vec!["arn:aws:iam::444444444444:role/default".into()],
            region: Some("us-east-1".into()),
            session_name: Some("cli".into()),
            ..Request::default()
        };
        let dev = entries[0].request(&defaults);
        assert_eq!(dev.cluster_id, "dev");
        assert_eq!(dev.region.as_deref(), Some("eu-west-1"));
        assert_eq!(dev.session_name.as_deref(), Some("cli"));
        let none = Entry {
            name: "x".into(),
            ..Entry::default()
        }
        .request(&defaults);
        assert_eq!(none.role_arns, defaults.role_arns);
        let direct = Entry {
            name: "x".into(),
            role_arns: Some(Vec::new()),
            ..Entry::default()
        };
        assert!(direct.request(&defaults).role_arns.is_empty());
    }

    #[test]
    fn a_bad_file_is_refused_naming_the_entry() {
        let e = |text: &str| parse(text).unwrap_err().to_string();
        let two = |second: &str| format!("clusters:\n- {{name: dev, out: /a}}\n- {second}\n");
        for (text, want) in [
            (
                "[dev, qa]".to_owned(),
                "not a list of clusters (no `clusters:`",
            ),
            ("clusters: dev".into(), "`clusters` is not a list"),
            ("clusters: []".into(), "`clusters` is empty"),
            (
                "clusters: [{name: a}]\nextra: 1".into(),
                "the top holds more",
            ),
            (
                "clusters: [{name: a\n".into(),
                "not a list of clusters (it is not YAML",
            ),
            (two("qa"), "entry 2: it is not a mapping"),
            (
                two("{name: qa, rolearn: x}"),
                "entry 2 (qa): unknown key \"rolearn\"",
            ),
            (
                two("{name: dev, out: /b}"),
                "entry 2 (dev): the name \"dev\" is entry 1's too",
            ),
            (
                two("{name: qa, out: /a}"),
                "entry 2 (qa): /a is a file of entry 1 too",
            ),
            (
                two("{name: qa, out: /b, kubeconfigOut: /b}"),
                "/b is a file of entry 2 too",
            ),
            (
                two("{name: qa, roleArn: [a, [b]]}"),
                "entry 2 (qa): `roleArn` must be a string",
            ),
            (
                two("{name: qa, region: {a: 1}}"),
                "`region` must be a string",
            ),
            (
                two("{name: qa, durationSeconds: an hour}"),
                "`durationSeconds` is not a number",
            ),
            (two("{name: qa, server: 'https://x'}"), "go together"),
            (
                two(&format!("{{name: qa, server: 'http://x', caData: {CA}}}")),
                "https://",
            ),
            (
                two("{name: qa, server: 'https://x', caData: bm90IGEgY2VydA==}"),
                "not base64 of a PEM",
            ),
            (two("{out: /b}"), "entry 2: it has no `name`"),
            (
                two("{name: ''}"),
                "entry 2: `name` must be a string, not empty",
            ),
        ] {
            let got = e(&text);
            assert!(got.contains(want), "{text:?}: {got}");
        }
    }

    /// Values are checked as a request's are, before any request: a file's named by
    /// its entry and key, a command line's by the cluster it reached.
    #[test]
    fn a_clusters_values_are_checked_naming_it() {
        for (entry, want) in [
            ("roleArn: [arn:aws:iam::1:role/x]", "entry 2 (qa): roleArn"),
            ("region: 'us east'", "entry 2 (qa): region \"us east\""),
            (
                "durationSeconds: 60",
                "entry 2 (qa): durationSeconds 60 is out of range",
            ),
            ("externalId: x", "entry 2 (qa): externalId is not valid"),
            ("sessionName: 'a b'", "entry 2 (qa): sessionName"),
        ] {
            let text = format!("clusters:\n- {{name: dev}}\n- {{name: qa, {entry}}}\n");
            let e = parse(&text).err().unwrap();
            assert!(e.to_string().starts_with(want), "{entry}: {e}");
        }
        let env = Env::default();
        let defaults = Request {
            role_arns: vec!["arn:aws:iam::1:role/x".into()],
            ..Request::default()
        };
        let requests: Vec<Request> = parse("clusters:\n- {name: dev}\n- {name: qa}\n")
            .unwrap()
            .iter()
            .map(|e| e.request(&defaults))
            .collect();
        let e = Fleet::with(&requests, &env, Runtime::default())
            .err()
            .unwrap();
        assert!(e.to_string().starts_with("cluster dev: --role-arn"), "{e}");
    }

    #[test]
    fn a_fleet_needs_one_base() {
        let env = Env::default();
        let r = |profile: Option<&str>| Request {
            cluster_id: "c".into(),
            profile: profile.map(str::to_owned),
            ..Request::default()
        };
        let e = Fleet::with(&[r(None), r(Some("other"))], &env, Runtime::default()).err();
        assert!(e.unwrap().to_string().contains("one profile"));
        assert!(Fleet::with(&[], &env, Runtime::default()).is_err());
    }
}
