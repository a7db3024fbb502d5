//! `doctor`: the library's walk ([`eks_token::doctor`]) with what only the command line
//! knows (the aws-auth file or stdin, how a kubeconfig's exec arguments read in their
//! program's dialect), printed for a person or as JSON; every line through the run's
//! redaction and the terminal sanitiser.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use eks_token::doctor::{self, ExecRequest, Inputs, Report};
use eks_token::kubeconfig::ContextView;
use eks_token::{files, Env, Log, Runtime, Stop};

use crate::cli::args::{self, Command, Dialect, DoctorArgs, Format, GetToken};
use crate::cli::failure::Failure;
use crate::cli::output::{json_for_terminal, terminal};

/// The most read of `--aws-auth`.
const MAX_FILE: u64 = 4 << 20;

/// Runs `doctor`: the report, and whether every step passed.
pub(crate) fn doctor(
    args: GetToken,
    d: &DoctorArgs,
    env: &Env,
    log: &Log,
) -> Result<(String, bool), Failure> {
    let env = args.effective_env(env);
    let aws_auth = d
        .aws_auth
        .as_deref()
        .map(|p| (p.display().to_string(), read_text(p, args.request.timeout)));
    let inputs = Inputs {
        request: args.request.clone(),
        aws_auth,
        kubeconfig: d.kubeconfig.clone(),
        context: d.context.clone(),
        exec_request: &exec_request,
    };
    let runtime = Runtime {
        log: log.clone(),
        stop: Stop::default(),
        mfa_prompt: None,
    };
    let report = doctor::run(&inputs, &env, runtime);
    let ok = report.ok();
    Ok((render(&report, args.print.format, log), ok))
}

/// How kubectl's exec entry reads: its program's dialect (the name it is run by), its
/// arguments through this program's own parser, its `env`; `None` for a program this
/// one does not speak for.
fn exec_request(view: &ContextView) -> Option<Result<ExecRequest, String>> {
    let exec = view.exec.as_ref()?;
    let name = exec.command.rsplit('/').next().unwrap_or(&exec.command);
    let dialect = Dialect::of_program(name);
    let ours = dialect != Dialect::EksToken || name.starts_with("eks-token");
    // What kubectl hands the plugin: its entry's env, and with provideClusterInfo the
    // cluster's exec extension as `spec.cluster.config`.
    let mut plugin_env = Env::default();
    for (k, v) in &exec.env {
        plugin_env.set(k, v);
    }
    if let (true, Some(config)) = (exec.provide_cluster_info, &view.exec_config) {
        let info = json!({
            "apiVersion": exec.api_version,
            "kind": "ExecCredential",
            "spec": {"cluster": {"server": view.server, "config": config}, "interactive": false},
        });
        plugin_env.set("KUBERNETES_EXEC_INFO", &info.to_string());
    }
    let g = match args::parse(dialect, &exec.args, &plugin_env) {
        Ok(Command::GetToken(g)) => g,
        Err(e) if ours => return Some(Err(e.to_string())),
        _ => return None,
    };
    let mut env: Vec<(String, String)> = exec.env.clone();
    env.extend(g.env.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    Some(Ok(ExecRequest {
        request: g.request,
        env,
    }))
}

/// The report for a person (one step a line, its fix indented below) or as JSON.
fn render(report: &Report, format: Format, log: &Log) -> String {
    // What a server echoed (a token, a session token) is never shown.
    let shown = |s: &str| log.redact(s);
    match format {
        Format::Json => {
            let mut doc = json!({
                "ok": report.ok(),
                "steps": report.steps.iter().map(|s| {
                    let mut v = json!({"name": s.name, "ok": s.ok, "detail": shown(&s.detail)});
                    if let Some(f) = &s.fix {
                        v["fix"] = json!(shown(f));
                    }
                    v
                }).collect::<Vec<_>>(),
            });
            doc["authenticationMode"] = report.authentication_mode.clone().into();
            if let Some(u) = &report.user {
                let from = match u.from {
                    "mapRoles" | "mapUsers" => "aws-auth",
                    "access entry" => "access-entry",
                    "the cluster" => "cluster",
                    other => other,
                };
                doc["kubernetes"] = json!({"username": u.username, "groups": u.groups,
                    "from": from, "policies": Value::Array(u.policies.clone())});
            }
            format!("{}\n", json_for_terminal(&doc.to_string()))
        }
        _ => {
            let mut out = String::new();
            for s in &report.steps {
                // A step that passed but could not check everything: `!`.
                let mark = match (s.ok, &s.fix) {
                    (false, _) => "✗",
                    (true, Some(_)) => "!",
                    (true, None) => "✓",
                };
                out.push_str(&format!(
                    "{mark} {:<13}{}\n",
                    s.name,
                    terminal(&shown(&s.detail))
                ));
                if let Some(f) = &s.fix {
                    for line in shown(f).lines() {
                        out.push_str(&format!("  {:<13}{}\n", "", terminal(line)));
                    }
                }
            }
            out
        }
    }
}

/// A file's text (`-`: stdin), capped; why not, for the report.
fn read_text(path: &Path, timeout: Duration) -> Result<String, String> {
    if path.as_os_str() == "-" {
        return super::read_stdin(
            MAX_FILE,
            timeout,
            "pipe the ConfigMap in: kubectl get configmap aws-auth -n kube-system -o yaml | eks-token doctor ... --aws-auth -",
        )
        .map_err(|e| format!("cannot read stdin: {e}"));
    }
    let b = files::read_file(path, MAX_FILE)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    String::from_utf8(b).map_err(|_| format!("{} is not UTF-8 text", path.display()))
}
