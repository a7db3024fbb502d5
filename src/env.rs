//! A snapshot of the environment variables eks-token reads. As in the AWS SDKs, a
//! variable set to the empty string counts as unset. Tests build one from pairs.

use std::collections::BTreeMap;

/// Environment variables, read once at start.
#[derive(Clone, Default)]
pub struct Env {
    // A B-tree: no hasher to seed (HashMap would ask the kernel for randomness).
    vars: BTreeMap<String, String>,
}

impl Env {
    /// The process environment (variables that are not UTF-8 are ignored).
    pub fn from_process() -> Self {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// An environment made of the given pairs.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value of `name`, or `None` when it is unset or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A boolean setting: `true` (any case) is true, anything else false.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// Sets a variable (for tests and for callers that compose environments).
    pub fn set(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_owned(), value.to_owned());
    }
}

// No Debug: the environment holds secrets (AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
