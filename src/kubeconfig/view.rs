//! A kubeconfig as kubectl reads it for one context: the server it sends tokens to, the
//! CA it trusts there, and what its user runs to get them (for `doctor`, which sends a
//! token only where kubectl would, and as kubectl's user would make it).

use std::path::{Path, PathBuf};
use std::time::Instant;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use yaml_rust2::yaml::Hash;
use yaml_rust2::Yaml;

use super::{parse, EXEC_EXTENSION};
use crate::error::{Error, Result};
use crate::yaml::{self, key};

/// A kubeconfig file, read.
pub struct Config {
    path: PathBuf,
    content: Hash,
}

/// What kubectl uses of one context.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextView {
    /// The context's name.
    pub name: String,
    /// Its cluster entry's name.
    pub cluster: String,
    /// The cluster's API server URL.
    pub server: String,
    /// The cluster's CA (PEM): from `certificate-authority-data`, or the file
    /// `certificate-authority` names (relative to the kubeconfig); `None` without either.
    pub ca_pem: Option<Vec<u8>>,
    /// `insecure-skip-tls-verify`.
    pub insecure_skip_tls_verify: bool,
    /// `proxy-url`.
    pub proxy_url: Option<String>,
    /// The cluster's `client.authentication.k8s.io/exec` extension (what a plugin with
    /// `provideClusterInfo` is handed as `spec.cluster.config`).
    pub exec_config: Option<serde_json::Value>,
    /// Its user entry's name.
    pub user: String,
    /// What the user runs for its tokens, when it runs something.
    pub exec: Option<ExecView>,
    /// The user's `tokenFile`, when it reads one.
    pub token_file: Option<PathBuf>,
}

/// A user's exec plugin, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecView {
    /// `apiVersion` (`client.authentication.k8s.io/v1beta1`, ...).
    pub api_version: String,
    /// The program, as written (a name PATH finds, or a path).
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its `env`.
    pub env: Vec<(String, String)>,
    /// `provideClusterInfo`.
    pub provide_cluster_info: bool,
    /// `interactiveMode`, when written.
    pub interactive_mode: Option<String>,
}

impl Config {
    /// Reads the kubeconfig `path` (at most [`super::MAX_FILE_BYTES`], within
    /// `deadline`), as kubectl reads it.
    pub fn read(path: &Path, deadline: Instant) -> Result<Config> {
        let bytes =
            crate::fsutil::read_file(path, super::MAX_FILE_BYTES).map_err(|e| Error::Io {
                what: format!("cannot read the kubeconfig {}", path.display()),
                source: e,
            })?;
        let text = String::from_utf8(bytes).map_err(|_| {
            Error::InvalidInput(format!(
                "the kubeconfig {} is not UTF-8 text",
                path.display()
            ))
        })?;
        Self::from_text(path, &text, deadline)
    }

    /// A kubeconfig's text as kubectl reads it; `path` names it in messages and
    /// anchors its relative file names.
    pub fn from_text(path: &Path, text: &str, deadline: Instant) -> Result<Config> {
        let content = parse(text, deadline).map_err(|why| {
            let cause = match why {
                yaml::Refused::NotYaml(_) => yaml::not_a_list_item(text)
                    .map(|c| format!("; {c}"))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            Error::InvalidInput(format!(
                "the kubeconfig {} cannot be read: {why}{cause}",
                path.display()
            ))
        })?;
        Ok(Config {
            path: path.to_path_buf(),
            content,
        })
    }

    /// Its `current-context`, when set.
    pub fn current_context(&self) -> Option<&str> {
        self.content
            .get(&key("current-context"))
            .and_then(Yaml::as_str)
            .filter(|c| !c.is_empty())
    }

    fn invalid(&self, why: String) -> Error {
        Error::InvalidInput(format!("kubeconfig {}: {why}", self.path.display()))
    }

    fn named(&self, list: &str, name: &str) -> Option<&Yaml> {
        self.content
            .get(&key(list))?
            .as_vec()?
            .iter()
            .find(|e| e["name"].as_str() == Some(name))
    }

    /// What kubectl uses of the context `name` (else the current one).
    pub fn context(&self, name: Option<&str>) -> Result<ContextView> {
        let name = match name.or(self.current_context()) {
            Some(n) => n.to_owned(),
            None => return Err(self.invalid("has no current-context: give --context".into())),
        };
        let ctx = self
            .named("contexts", &name)
            .ok_or_else(|| self.invalid(format!("has no context {name:?}")))?;
        let cluster_name = ctx["context"]["cluster"]
            .as_str()
            .ok_or_else(|| self.invalid(format!("context {name:?} names no cluster")))?
            .to_owned();
        let user_name = ctx["context"]["user"].as_str().unwrap_or("").to_owned();
        let cluster = self
            .named("clusters", &cluster_name)
            .ok_or_else(|| self.invalid(format!("has no cluster {cluster_name:?}")))?;
        let c = &cluster["cluster"];
        let server = c["server"]
            .as_str()
            .ok_or_else(|| self.invalid(format!("cluster {cluster_name:?} has no server")))?
            .to_owned();
        let ca_pem = match (
            c["certificate-authority-data"].as_str(),
            c["certificate-authority"].as_str(),
        ) {
            (Some(data), _) => Some(STANDARD.decode(data.trim()).map_err(|_| {
                self.invalid(format!(
                    "cluster {cluster_name:?}'s certificate-authority-data is not base64"
                ))
            })?),
            (None, Some(file)) => {
                let file = self.path.parent().unwrap_or(Path::new(".")).join(file);
                Some(
                    crate::fsutil::read_file(&file, super::MAX_FILE_BYTES).map_err(|e| {
                        Error::Io {
                            what: format!("cannot read the cluster's CA {}", file.display()),
                            source: e,
                        }
                    })?,
                )
            }
            (None, None) => None,
        };
        let exec_config = c["extensions"].as_vec().and_then(|exts| {
            exts.iter()
                .find(|e| e["name"].as_str() == Some(EXEC_EXTENSION))
                .map(|e| yaml::to_json(&e["extension"]))
        });
        let user = self.named("users", &user_name).map(|u| &u["user"]);
        let exec = user.and_then(|u| exec_view(&u["exec"]));
        let token_file = user
            .and_then(|u| u["tokenFile"].as_str())
            .map(PathBuf::from);
        Ok(ContextView {
            name,
            cluster: cluster_name,
            server,
            ca_pem,
            insecure_skip_tls_verify: c["insecure-skip-tls-verify"].as_bool() == Some(true),
            proxy_url: c["proxy-url"].as_str().map(str::to_owned),
            exec_config,
            user: user_name,
            exec,
            token_file,
        })
    }
}

fn exec_view(exec: &Yaml) -> Option<ExecView> {
    let strings = |y: &Yaml| -> Vec<String> {
        y.as_vec()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    Some(ExecView {
        api_version: exec["apiVersion"].as_str().unwrap_or("").to_owned(),
        command: exec["command"].as_str()?.to_owned(),
        args: strings(&exec["args"]),
        env: exec["env"]
            .as_vec()
            .map(|vars| {
                vars.iter()
                    .filter_map(|v| {
                        Some((
                            v["name"].as_str()?.to_owned(),
                            v["value"].as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        provide_cluster_info: exec["provideClusterInfo"].as_bool() == Some(true),
        interactive_mode: exec["interactiveMode"].as_str().map(str::to_owned),
    })
}
