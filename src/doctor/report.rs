//! What doctor is asked, and the typed report of its walk.

use std::path::PathBuf;

use crate::kubeconfig::ContextView;
use crate::mapping::{Identity, User};
use crate::request::Request;

/// What to diagnose.
pub struct Inputs<'a> {
    /// The request whose path is walked (the cache is not used: trust policies as they
    /// are now, not a session of an hour ago).
    pub request: Request,
    /// The aws-auth ConfigMap (`kubectl get configmap aws-auth -n kube-system -o yaml`):
    /// where it came from (for messages) and its text, or why it could not be read.
    pub aws_auth: Option<(String, Result<String, String>)>,
    /// A kubeconfig whose cluster to ask (SelfSubjectReview), with the token its user
    /// would make.
    pub kubeconfig: Option<PathBuf>,
    /// Its context (default: its current one).
    pub context: Option<String>,
    /// How the caller reads a kubeconfig user's exec entry: the request (and the
    /// environment variables it sets) that the program it runs would make tokens with,
    /// or why its arguments do not parse, when it is one the caller speaks for
    /// (eks-token, or a tool it stands in for); `None` for another program.
    pub exec_request: &'a dyn Fn(&ContextView) -> Option<Result<ExecRequest, String>>,
}

/// What a kubeconfig user's program would ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    /// Its request (cluster, roles, region, profile...).
    pub request: Request,
    /// Environment variables it runs with (the exec entry's `env`, its global options').
    pub env: Vec<(String, String)>,
}

/// One step: its name, whether it passed, what was found, and what to do when not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// `credentials`, `role`, `token`, `clock`, `identity`, `eks`, `access-entry`,
    /// `aws-auth`, `kubeconfig`, `cluster`, `mapping`.
    pub name: &'static str,
    /// Whether it passed (a step that could not look, and says so in `fix`, passes).
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// What to do, when it failed (or passed with a caveat: what it could not check).
    pub fix: Option<String>,
}

/// The walk as far as it went.
#[derive(Debug, Default)]
pub struct Report {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The identity EKS derives from the token, when the walk got there.
    pub identity: Option<Identity>,
    /// The Kubernetes user: the cluster's answer, else the mapping's prediction.
    pub user: Option<User>,
    /// The cluster's `accessConfig.authenticationMode` (`CONFIG_MAP`,
    /// `API_AND_CONFIG_MAP`, `API`), when DescribeCluster told it.
    pub authentication_mode: Option<String>,
    /// Whether a step showed the identity mapped to a user (an access entry, aws-auth,
    /// or the cluster's own answer).
    pub mapped: bool,
}

impl Report {
    /// Whether every step passed.
    pub fn ok(&self) -> bool {
        self.steps.iter().all(|s| s.ok)
    }

    pub(super) fn pass(&mut self, name: &'static str, detail: String) {
        self.caveat(name, detail, None);
    }

    /// Records a step that passed, with what it could not check (`fix`), if anything.
    pub(super) fn caveat(&mut self, name: &'static str, detail: String, fix: Option<String>) {
        self.steps.push(Step {
            name,
            ok: true,
            detail,
            fix,
        });
    }

    /// Records a failed step; the walk ends there (`Err(Ended)`).
    pub(super) fn fail<T>(
        &mut self,
        name: &'static str,
        detail: String,
        fix: Option<String>,
    ) -> Result<T, Ended> {
        self.steps.push(Step {
            name,
            ok: false,
            detail,
            fix,
        });
        Err(Ended)
    }
}

/// The walk ended at a failed step (recorded in the report).
pub(super) struct Ended;
