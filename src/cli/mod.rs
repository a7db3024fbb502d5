//! The command line: parse the arguments ([`args`]) in the dialect of the name the
//! binary was run as, run the command over the library, print the result, map errors to
//! exit codes (2 for a command line that cannot be parsed, 1 for everything else;
//! nothing on stdout then).

pub(crate) mod args;
pub(crate) mod commands;
pub(crate) mod exec_credential;
pub(crate) mod failure;
pub(crate) mod kubeconfig;
pub(crate) mod output;
mod signals;

use std::io::Write;

use eks_token::{Env, Log};

pub(crate) use args::{ArgError, Command, Dialect, VersionStyle};
use failure::Failure;

/// A command's outcome: what goes to stdout, and the exit code (`verify` exits 1 with
/// its report when the token would be rejected).
type Outcome = Result<(String, u8), Failure>;

/// The aws-cli release the `aws` dialect is run side by side with in the tests.
const AWS_CLI_RELEASE: &str = "1.45.11";

/// `--version`: the release and, when known, the commit it was built from (build.rs:
/// 7 hex digits, or empty), as `eks-token 0.3.0 (abc1234)`.
fn version(style: VersionStyle) -> String {
    let v = env!("CARGO_PKG_VERSION");
    let commit = env!("EKS_TOKEN_COMMIT");
    match style {
        VersionStyle::EksToken if commit.is_empty() => format!("eks-token {v}\n"),
        VersionStyle::EksToken => format!("eks-token {v} ({commit})\n"),
        // Tools gate on `aws-cli/X.Y.Z` (eksctl writes `aws eks get-token` into
        // kubeconfigs only from 1.16.156): name the release this dialect is tested
        // against, then what answers.
        VersionStyle::Aws => format!(
            "aws-cli/{AWS_CLI_RELEASE} eks-token/{v} ({commit}{}standing in for aws-cli: \
             eks get-token, eks update-kubeconfig, sts get-caller-identity)\n",
            if commit.is_empty() { "" } else { "; " }
        ),
        VersionStyle::Authenticator { short: true, .. } => format!("{v}\n"),
        VersionStyle::Authenticator { yaml: true, .. } => format!("Version: {v}\n"),
        VersionStyle::Authenticator { .. } => format!("{{\"Version\":\"{v}\"}}\n"),
    }
}

fn run(
    cmd: Command,
    env: &Env,
    program: &kubeconfig::Program,
    log: &Log,
    mode: &output::Mode,
) -> Outcome {
    let verbose = match &cmd {
        Command::GetToken(a)
        | Command::WriteToken(a, _)
        | Command::WriteFleet(a, _)
        | Command::WhoAmI(a)
        | Command::Kubeconfig(a, _)
        | Command::UpdateKubeconfig(a, _)
        | Command::Doctor(a, _) => a.verbose,
        Command::Verify(v) => v.verbose,
        Command::CheckToken(_) | Command::Help(_) | Command::Version(_) => false,
    };
    log.set_verbose(verbose);
    // write-token's log: every line on stderr one JSON object.
    match cmd {
        Command::WriteToken(..) | Command::WriteFleet(..) => mode.json("write-token"),
        Command::CheckToken(_) => mode.json("check"),
        _ => {}
    }
    match cmd {
        Command::Help(topic) => Ok((args::dialect::help_text(topic), 0)),
        Command::Version(style) => Ok((version(style), 0)),
        Command::GetToken(a) => Ok((commands::get_token(a, env, log)?, 0)),
        Command::WriteToken(a, w) => {
            commands::write_token::run(a, &w, env, log)?;
            Ok((String::new(), 0))
        }
        Command::WriteFleet(a, w) => {
            commands::fleet::write(a, &w, env, log)?;
            Ok((String::new(), 0))
        }
        Command::CheckToken(c) => {
            commands::write_token::check(&c, env, log)?;
            Ok((String::new(), 0))
        }
        Command::WhoAmI(a) => Ok((commands::whoami(a, env, log)?, 0)),
        Command::Kubeconfig(a, k) => Ok((
            match &k.clusters {
                Some(file) => commands::fleet::kubeconfig(a, &k, file, env, program, log)?,
                None => commands::kubeconfig(a, &k, env, program, log)?,
            },
            0,
        )),
        Command::UpdateKubeconfig(a, u) => Ok((
            commands::update_kubeconfig::update(a, &u, env, program, log)?,
            0,
        )),
        Command::Verify(v) => {
            let (out, ok) = commands::verify(&v, env, log)?;
            Ok((out, if ok { 0 } else { 1 }))
        }
        Command::Doctor(a, d) => {
            let (out, ok) = commands::doctor(a, &d, env, log)?;
            Ok((out, if ok { 0 } else { 1 }))
        }
    }
}

/// Keeps secrets in this process's memory out of reach: not dumpable (no core file, and
/// `/proc/PID/mem` and ptrace closed to other processes of the same user) and a core
/// size of 0 (for systems that dump non-dumpable processes too, `suid_dumpable=2`, to a
/// file). Done first, before any secret is read, for every command.
fn protect_memory() {
    use rustix::process::{self, DumpableBehavior, Resource, Rlimit};
    let _ = process::set_dumpable_behavior(DumpableBehavior::NotDumpable);
    let _ = process::setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    );
}

/// Parses, runs, prints; the process's exit code.
pub(crate) fn main() -> ! {
    protect_memory();
    // The clock of verbose lines starts here.
    let mode = output::Mode::default();
    let log = output::stderr_log(mode.clone());
    let mut argv_os = std::env::args_os();
    let program = argv_os
        .next()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let program = kubeconfig::Program::current(&program);
    let dialect = Dialect::of_program(&program.name);
    let argv: Result<Vec<String>, _> = argv_os.map(|a| a.into_string()).collect();
    let env = Env::from_process();
    // What a user may paste into the wrong argument is never echoed back.
    for k in [
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
    ] {
        if let Some(v) = env.get(k) {
            log.hide(v);
        }
    }
    let result = match argv {
        Ok(argv) => {
            let (parsed, event) = args::parse_logged(dialect, &argv, &env);
            parsed
                .map_err(|e| {
                    // A write-token command line that does not parse is logged as
                    // write-token logs.
                    if let Some(event) = event {
                        mode.json(event);
                    }
                    Failure::from(e)
                })
                .and_then(|cmd| run(cmd, &env, &program, &log, &mode))
        }
        Err(bad) => Err(Failure::Args(ArgError::Usage(format!(
            "argument {:?} is not valid UTF-8",
            bad.to_string_lossy()
        )))),
    };
    let code = match result {
        Ok((out, code)) => {
            let mut stdout = std::io::stdout().lock();
            if stdout
                .write_all(out.as_bytes())
                .and_then(|()| stdout.flush())
                .is_err()
            {
                log.error(format_args!("cannot write to stdout"));
                1
            } else {
                code
            }
        }
        Err(e) => {
            // A signal's stop made it fail: the handler ends the process, with its code.
            signals::yield_to_a_stop();
            log.error(format_args!("{e}"));
            e.exit_code()
        }
    };
    // Everything is written: end here, without freeing what the process is about to
    // give back whole (a tenth of a warm run's instructions went to destructors).
    std::process::exit(i32::from(code))
}

#[cfg(test)]
mod tests;
