//! A snapshot of the environment variables eks-token reads. As in the AWS SDKs, a
//! variable set to the empty string counts as unset. Tests build one from pairs.

/// Environment variables, read once at start.
#[derive(Clone, Default)]
pub struct Env {
    // A list searched in order: a dozen names, most told apart by their length
    // (cheaper than a map's string comparisons; HashMap would also ask the kernel
    // for randomness). No name twice: a later value replaces the earlier.
    vars: Vec<(String, String)>,
    /// Variables eks-token reads whose value is not UTF-8 (ignored).
    not_utf8: Vec<String>,
    /// Their warning was written (once for this environment).
    warned: std::cell::Cell<bool>,
}

impl Env {
    /// The variables of the process environment that eks-token reads: `AWS_*`,
    /// `EKS_TOKEN_*`, `KUBERNETES_*`, the proxy variables (`HTTPS_PROXY`, `no_proxy`,
    /// ...), `HOME`, `PATH`, `XDG_CACHE_HOME`, `KUBECONFIG` and `DEFAULT_ROLE`. (A pod's
    /// environment holds dozens of others, each copied for nothing on every run.)
    /// A variable whose value is not UTF-8 is left out; [`crate::Issuer::new`] refuses
    /// or names it (a session token dropped in silence would surface as STS's refusal).
    pub fn from_process() -> Self {
        let mut env = Env::default();
        for (k, v) in std::env::vars_os() {
            let Some(k) = k.to_str().filter(|k| read_by_eks_token(k)) else {
                continue;
            };
            match v.into_string() {
                Ok(v) => env.put(k.to_owned(), v),
                Err(_) => env.not_utf8.push(k.to_owned()),
            }
        }
        env
    }

    /// The variables ignored for not being UTF-8: an AWS or eks-token setting among
    /// them is an error (ignored, it would change which credentials sign, or drop a
    /// session token); others (`PATH`, a proxy) get a warning, once a process.
    pub(crate) fn check_utf8(&self, log: &crate::log::Log) -> crate::Result<()> {
        if let Some(k) = self
            .not_utf8
            .iter()
            .find(|k| k.starts_with("AWS_") || k.starts_with("EKS_TOKEN_"))
        {
            return Err(crate::Error::InvalidInput(format!(
                "{k} is not UTF-8 text: fix or unset it (ignoring it would change what is signed)"
            )));
        }
        if !self.not_utf8.is_empty() && !self.warned.replace(true) {
            for k in &self.not_utf8 {
                log.warn(format_args!("{k} is not UTF-8 text: ignored, as if unset"));
            }
        }
        Ok(())
    }

    /// An environment made of the given pairs.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut env = Env::default();
        for (k, v) in pairs {
            env.put(k.into(), v.into());
        }
        env
    }

    /// The value of `name`, or `None` when it is unset or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// A boolean setting: `true` (any case) is true, anything else false.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// Sets a variable (for tests and for callers that compose environments).
    pub fn set(&mut self, name: &str, value: &str) {
        self.put(name.to_owned(), value.to_owned());
    }

    fn put(&mut self, name: String, value: String) {
        match self.vars.iter_mut().find(|(k, _)| *k == name) {
            Some((_, v)) => *v = value,
            None => self.vars.push((name, value)),
        }
    }
}

/// Whether eks-token (library or command line) reads the variable `name`.
fn read_by_eks_token(name: &str) -> bool {
    ["AWS_", "EKS_TOKEN_", "KUBERNETES_"]
        .iter()
        .any(|p| name.starts_with(p))
        || name.ends_with("_PROXY")
        || name.ends_with("_proxy")
        || [
            "HOME",
            "PATH",
            "XDG_CACHE_HOME",
            "KUBECONFIG",
            "DEFAULT_ROLE",
        ]
        .contains(&name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_variables_eks_token_reads_are_kept() {
        for name in [
            "AWS_REGION",
            "AWS_ENDPOINT_URL_STS",
            "EKS_TOKEN_CACHE_DIR",
            "KUBERNETES_EXEC_INFO",
            "HTTPS_PROXY",
            "no_proxy",
            "HOME",
            "DEFAULT_ROLE",
        ] {
            assert!(super::read_by_eks_token(name), "{name}");
        }
        for name in ["MY_SERVICE_PORT", "LANG", "SHELL", "AWSREGION", "HOMEDIR"] {
            assert!(!super::read_by_eks_token(name), "{name}");
        }
    }
}

// No Debug: the environment holds secrets (AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
