//! Drop-in everywhere: the binary run as `aws`, `aws-iam-authenticator` and
//! `argocd-k8s-auth` (a symlink), `eks update-kubeconfig` merging into a kubeconfig a
//! user already has, and each behaviour where eks-token differed from aws-cli, run side
//! by side with aws-cli on the same files and environment.

use std::path::Path;

use crate::common::recorder::StsRecorder;
use crate::common::*;
use serde_json::Value;

mod aws_cli;
mod personalities;
mod update_kubeconfig;

/// The access key id a token (or ExecCredential) was signed with.
fn signer_of(stdout: &str) -> String {
    let url = eks_token::verify::decode(&token_of(stdout)).unwrap();
    let cred = url.split("X-Amz-Credential=").nth(1).unwrap();
    cred.split("%2F").next().unwrap().to_owned()
}
