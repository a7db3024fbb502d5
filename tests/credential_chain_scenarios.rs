//! The recorded end-to-end scenarios of the default credential chain
//! (`tests/data/aws-config-test-data/default-credential-provider-chain/`), one test per
//! scenario: a local server replays the recorded responses (reached through endpoint
//! overrides), HOME and the files map to a copy of the scenario's `fs/`, and the chain
//! must yield the credentials or the error its `test-case.json` expects.

use crate::common::scenario::run_scenario;

#[test]
fn e2e_fips_and_dual_stack_sso() {
    run_scenario("e2e_fips_and_dual_stack_sso");
}

#[test]
fn ecs_assume_role() {
    run_scenario("ecs_assume_role");
}

#[test]
fn ecs_credentials() {
    run_scenario("ecs_credentials");
}

#[test]
fn ecs_credentials_invalid_profile() {
    run_scenario("ecs_credentials_invalid_profile");
}

#[test]
fn eks_pod_identity_credentials() {
    run_scenario("eks_pod_identity_credentials");
}

#[test]
fn eks_pod_identity_no_token_file() {
    run_scenario("eks_pod_identity_no_token_file");
}

#[test]
fn environment_variables() {
    run_scenario("environment_variables");
}

#[test]
fn environment_variables_blank() {
    run_scenario("environment_variables_blank");
}

#[test]
fn imds_assume_role() {
    run_scenario("imds_assume_role");
}

#[test]
fn imds_config_with_no_creds() {
    run_scenario("imds_config_with_no_creds");
}

#[test]
fn imds_default_chain_error() {
    run_scenario("imds_default_chain_error");
}

#[test]
fn imds_default_chain_retries() {
    run_scenario("imds_default_chain_retries");
}

#[test]
fn imds_default_chain_success() {
    run_scenario("imds_default_chain_success");
}

#[test]
fn imds_disabled() {
    run_scenario("imds_disabled");
}

#[test]
fn imds_no_iam_role() {
    run_scenario("imds_no_iam_role");
}

#[test]
fn imds_token_fail() {
    run_scenario("imds_token_fail");
}

#[test]
fn prefer_environment() {
    run_scenario("prefer_environment");
}

#[test]
fn profile_name() {
    run_scenario("profile_name");
}

#[test]
fn profile_overrides_web_identity() {
    run_scenario("profile_overrides_web_identity");
}

#[test]
fn profile_static_keys() {
    run_scenario("profile_static_keys");
}

#[test]
fn profile_static_keys_case_insensitive() {
    run_scenario("profile_static_keys_case_insensitive");
}

#[test]
fn sso_assume_role() {
    run_scenario("sso_assume_role");
}

#[test]
fn sso_no_token_file() {
    run_scenario("sso_no_token_file");
}

#[test]
fn sso_server_error() {
    run_scenario("sso_server_error");
}

#[test]
fn web_identity_source_profile_no_env() {
    run_scenario("web_identity_source_profile_no_env");
}

#[test]
fn web_identity_token_env() {
    run_scenario("web_identity_token_env");
}

#[test]
fn web_identity_token_invalid_jwt() {
    run_scenario("web_identity_token_invalid_jwt");
}

#[test]
fn web_identity_token_profile() {
    run_scenario("web_identity_token_profile");
}

#[test]
fn web_identity_token_source_profile() {
    run_scenario("web_identity_token_source_profile");
}

#[test]
fn every_scenario_has_a_test() {
    let src = include_str!("credential_chain_scenarios.rs");
    let dir = crate::common::scenario::scenarios_dir();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            src.contains(&format!("run_scenario(\"{name}\")")),
            "no test for {name}"
        );
    }
}
