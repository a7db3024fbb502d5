//! Kubeconfigs. Every one eks-token writes is built here, from the same entries: the
//! `kubeconfig` command's (JSON), `write-token --kubeconfig-out`'s (a user that reads
//! the token file), and the entries `eks update-kubeconfig` merges into the user's file
//! ([`update`], in aws-cli's YAML: [`yaml`], [`pyyaml`]). Entries keep the order of
//! their keys (aws-cli's order, where it writes them).

mod pyyaml;
mod scalars;
pub(crate) mod update;
pub(crate) mod yaml;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use eks_token::{Env, Error, Request};
use yaml_rust2::Yaml;

use yaml::{map, string};

/// The exec plugin apiVersion of the users eks-token writes (aws-cli's).
pub(crate) const EXEC_API_VERSION: &str = "client.authentication.k8s.io/v1beta1";

/// This program as it was run: the name it was called by (the file name of `argv[0]`),
/// resolved once, in `main`; its path is looked up only by the commands that write it.
#[derive(Debug, Clone)]
pub(crate) struct Program {
    pub(crate) name: String,
}

impl Program {
    /// This process's name.
    pub(crate) fn current(argv0: &str) -> Program {
        Program {
            name: argv0.rsplit('/').next().unwrap_or(argv0).to_owned(),
        }
    }

    /// Its absolute path.
    pub(crate) fn path(&self) -> Result<String, Error> {
        std::env::current_exe()
            .map(|p| p.display().to_string())
            .map_err(|_| Error::InvalidInput("cannot find this program's path".into()))
    }

    /// How a kubeconfig's user runs it: by the name it was run as when PATH finds this
    /// very program under that name (so `aws` writes what aws-cli writes), else by its
    /// absolute path (also when PATH's first `aws` is another program).
    pub(crate) fn exec_command(&self, env: &Env) -> Result<String, Error> {
        let exe = self.path()?;
        let found = (!self.name.is_empty())
            .then(|| env.get("PATH"))
            .flatten()
            .and_then(|path| {
                path.split(':')
                    .filter(|dir| !dir.is_empty())
                    .map(|dir| Path::new(dir).join(&self.name))
                    .find(|p| {
                        std::fs::metadata(p)
                            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                    })
            });
        let same = |p: &Path| {
            matches!(
                (std::fs::canonicalize(p), std::fs::canonicalize(&exe)),
                (Ok(a), Ok(b)) if a == b
            )
        };
        Ok(match found {
            Some(p) if same(&p) => self.name.clone(),
            _ => exe,
        })
    }
}

/// What a user's exec passes on to get its tokens: the role chain and where.
#[derive(Debug, Default)]
pub(crate) struct Chain<'a> {
    pub(crate) roles: &'a [String],
    pub(crate) session_name: Option<&'a str>,
    pub(crate) forward_session_name: bool,
    pub(crate) external_id: Option<&'a str>,
    pub(crate) duration_seconds: Option<u32>,
    /// As `--profile` (else the user's `env` may carry `AWS_PROFILE`).
    pub(crate) profile: Option<&'a str>,
}

impl<'a> Chain<'a> {
    /// The chain of `request`, its profile as `--profile`.
    pub(crate) fn of(request: &'a Request, profile: Option<&'a str>) -> Chain<'a> {
        Chain {
            roles: &request.role_arns,
            session_name: request.session_name.as_deref(),
            forward_session_name: request.forward_session_name,
            external_id: request.external_id.as_deref(),
            duration_seconds: request.duration_seconds,
            profile,
        }
    }
}

/// The arguments that get a token of a cluster (`--cluster-name N` or, for an Outposts
/// cluster, `--cluster-id ID`) in `region`: aws-cli's form (`--region R eks get-token
/// --cluster-name N --output json [--role ARN]`) or eks-token's (`get-token
/// --cluster-name N --region R [--role-arn ARN]... [--session-name S] ... [--profile
/// P]`).
pub(crate) fn token_args(
    aws: bool,
    (flag, cluster): (&str, &str),
    region: &str,
    chain: &Chain<'_>,
) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    let mut push = |parts: &[&str]| a.extend(parts.iter().map(|p| p.to_string()));
    if aws {
        push(&["--region", region, "eks", "get-token", flag, cluster]);
        push(&["--output", "json"]);
        if let Some(role) = chain.roles.last() {
            push(&["--role", role]);
        }
        return a;
    }
    push(&["get-token", flag, cluster, "--region", region]);
    for role in chain.roles {
        push(&["--role-arn", role]);
    }
    if let Some(s) = chain.session_name {
        push(&["--session-name", s]);
    }
    if chain.forward_session_name {
        push(&["--forward-session-name"]);
    }
    if let Some(e) = chain.external_id {
        push(&["--external-id", e]);
    }
    if let Some(d) = chain.duration_seconds {
        push(&["--duration-seconds", &d.to_string()]);
    }
    if let Some(p) = chain.profile {
        push(&["--profile", p]);
    }
    a
}

/// A cluster entry.
pub(crate) fn cluster_entry(name: &str, server: &str, ca_data: &str, proxy: Option<&str>) -> Yaml {
    let mut cluster = vec![
        ("certificate-authority-data", string(ca_data)),
        ("server", string(server)),
    ];
    if let Some(p) = proxy {
        cluster.push(("proxy-url", string(p)));
    }
    map(vec![("cluster", map(cluster)), ("name", string(name))])
}

/// How a user's exec plugin runs.
pub(crate) struct Exec {
    pub(crate) command: String,
    pub(crate) args: Vec<String>,
    /// `AWS_PROFILE` in its `env`.
    pub(crate) profile: Option<String>,
    /// `interactiveMode` and `provideClusterInfo`, when written.
    pub(crate) interactive: Option<&'static str>,
}

/// A user entry whose exec plugin gets its tokens.
pub(crate) fn exec_user(name: &str, e: &Exec) -> Yaml {
    let mut exec = vec![
        ("apiVersion", string(EXEC_API_VERSION)),
        (
            "args",
            Yaml::Array(e.args.iter().map(|a| string(a)).collect()),
        ),
        ("command", string(&e.command)),
    ];
    if let Some(p) = &e.profile {
        exec.push((
            "env",
            Yaml::Array(vec![map(vec![
                ("name", string("AWS_PROFILE")),
                ("value", string(p)),
            ])]),
        ));
    }
    if let Some(mode) = e.interactive {
        exec.push(("interactiveMode", string(mode)));
        exec.push(("provideClusterInfo", Yaml::Boolean(false)));
    }
    map(vec![
        ("name", string(name)),
        ("user", map(vec![("exec", map(exec))])),
    ])
}

/// A user entry that reads a token file (client-go rereads `tokenFile`).
pub(crate) fn token_file_user(name: &str, path: &Path) -> Yaml {
    map(vec![
        ("name", string(name)),
        (
            "user",
            map(vec![("tokenFile", string(&path.display().to_string()))]),
        ),
    ])
}

/// A context entry.
pub(crate) fn context_entry(name: &str, cluster: &str, user: &str) -> Yaml {
    map(vec![
        (
            "context",
            map(vec![("cluster", string(cluster)), ("user", string(user))]),
        ),
        ("name", string(name)),
    ])
}

/// A whole kubeconfig of one cluster, user and context, the context current, as JSON
/// (keys sorted, two-space indent).
pub(crate) fn json_document(cluster: Yaml, user: Yaml, context: Yaml) -> String {
    let current = context["name"].as_str().unwrap_or_default().to_owned();
    let doc = map(vec![
        ("apiVersion", string("v1")),
        ("kind", string("Config")),
        ("clusters", Yaml::Array(vec![cluster])),
        ("users", Yaml::Array(vec![user])),
        ("contexts", Yaml::Array(vec![context])),
        ("current-context", string(&current)),
    ]);
    serde_json::to_string_pretty(&yaml::to_json(&doc)).expect("plain JSON") + "\n"
}

/// The path the kernel reaches for `p`, whether or not it exists yet: its deepest
/// existing directory canonical (links and `..` resolved as the kernel resolves them),
/// then the parts below it as written (nothing exists there, so no link: `..` is the
/// part before). For a file this program writes and a kubeconfig then names.
pub(crate) fn resolved(p: &Path) -> Option<PathBuf> {
    use std::path::Component;
    let abs = std::path::absolute(p).ok()?;
    let parts: Vec<_> = abs.components().collect();
    let (mut real, at) = (0..parts.len()).rev().find_map(|n| {
        let dir: PathBuf = parts[..n].iter().collect();
        Some((dir.canonicalize().ok()?, n))
    })?;
    for part in &parts[at..] {
        match part {
            Component::ParentDir => _ = real.pop(),
            Component::CurDir => {}
            other => real.push(other),
        }
    }
    Some(real)
}

/// `p` made absolute from the current directory, `.` and `..` folded by name as
/// Python's `os.path.abspath` does (links are not followed).
pub(crate) fn absolute(p: &Path) -> PathBuf {
    use std::path::Component;
    let joined = match std::env::current_dir() {
        Ok(cwd) if p.is_relative() => cwd.join(p),
        _ => p.to_path_buf(),
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
