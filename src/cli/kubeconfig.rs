//! How a kubeconfig's user runs this program: by which name or path, and with which
//! arguments (eks-token's own, or aws-cli's). The entries themselves are the library's
//! ([`eks_token::kubeconfig`]).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use eks_token::{Env, Error, Request};

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
