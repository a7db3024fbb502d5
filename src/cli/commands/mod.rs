//! The commands: each runs the library and formats its answer for a person, kubectl or
//! a script, as the dialect it was asked in prints it.

mod doctor;
pub(crate) mod fleet;
mod get_token;
mod kubeconfig;
pub(crate) mod update_kubeconfig;
mod verify;
mod whoami;
pub(crate) mod write_token;

pub(crate) use doctor::doctor;
pub(crate) use get_token::get_token;
pub(crate) use kubeconfig::kubeconfig;
pub(crate) use verify::verify;
pub(crate) use whoami::whoami;

use std::io::Read;

use eks_token::fleet::Fleet;
use eks_token::{Env, Error, Issuer, Log, MfaPrompt, Request, Runtime, Stop};

use super::args::{Format, Print};
use super::failure::Failure;

/// The issuer of a command, in this process: the run's log; a stop that SIGINT and
/// SIGTERM trigger when getting credentials runs a program (which then ends with the
/// run); MFA codes asked on the terminal, unless kubectl said there is none
/// (`interactive`: its `spec.interactive`).
pub(crate) fn issuer<'e>(
    request: &Request,
    env: &'e Env,
    log: &Log,
    interactive: Option<bool>,
) -> Result<Issuer<'e>, Error> {
    let issuer = Issuer::with(
        request,
        env,
        Runtime {
            log: log.clone(),
            stop: Stop::default(),
            mfa_prompt: Some(mfa_prompt(interactive)),
        },
    )?;
    if issuer.runs_a_program() {
        crate::cli::signals::stop_with_the_process(issuer.stop().clone()).map_err(|e| {
            Error::Io {
                what: "cannot handle SIGTERM and SIGINT".into(),
                source: e,
            }
        })?;
    }
    Ok(issuer)
}

/// The fleet of `requests`, in this process: the run's log, MFA codes asked on the
/// terminal (unless kubectl said there is none: `interactive`), a stop that SIGINT and
/// SIGTERM trigger when the base runs a program (which then ends with the run).
pub(crate) fn fleet<'e>(
    requests: &[Request],
    env: &'e Env,
    log: &Log,
    interactive: Option<bool>,
) -> Result<Fleet<'e>, Error> {
    let runtime = Runtime {
        log: log.clone(),
        stop: Stop::default(),
        mfa_prompt: Some(mfa_prompt(interactive)),
    };
    let fleet = Fleet::with(requests, env, runtime)?;
    if fleet.runs_a_program() {
        crate::cli::signals::stop_with_the_process(fleet.stop().clone()).map_err(|e| {
            Error::Io {
                what: "cannot handle SIGTERM and SIGINT".into(),
                source: e,
            }
        })?;
    }
    Ok(fleet)
}

/// Asks for an MFA code on the terminal (`/dev/tty`, not stdin: kubectl owns that).
pub(crate) fn mfa_prompt(interactive: Option<bool>) -> MfaPrompt {
    Box::new(move |serial: &str| {
        use std::io::{BufRead, BufReader, Write};
        let no_terminal = || {
            std::io::Error::other(
                "there is no terminal to ask on: run interactively, or set `interactiveMode: \
                 IfAvailable` in the kubeconfig's exec section",
            )
        };
        if interactive == Some(false) {
            return Err(no_terminal());
        }
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .map_err(|_| no_terminal())?;
        let mut w = &tty;
        write!(
            w,
            "Enter MFA code for {}: ",
            crate::cli::output::terminal(serial)
        )
        .map_err(|_| no_terminal())?;
        let _ = w.flush();
        let mut line = String::new();
        BufReader::new(&tty)
            .read_line(&mut line)
            .map_err(|_| no_terminal())?;
        Ok(line)
    })
}

/// JSON as aws-cli prints it: indented by four spaces.
pub(crate) fn aws_json(v: &impl serde::Serialize) -> String {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    v.serialize(&mut ser).expect("plain JSON");
    crate::cli::output::json_for_terminal(&String::from_utf8(out).expect("JSON is UTF-8")) + "\n"
}

/// The answer of `--query PATH` (a field path) over `answer`, printed as aws-cli does:
/// `--output text` gives a string bare (`None` for a missing field), JSON otherwise.
pub(crate) fn queried(answer: &serde_json::Value, path: &[String], format: Format) -> String {
    let mut v = answer;
    for field in path {
        v = v.get(field).unwrap_or(&serde_json::Value::Null);
    }
    match (format, v) {
        (Format::Json, v) => aws_json(v),
        (_, serde_json::Value::String(s)) => format!("{}\n", crate::cli::output::terminal(s)),
        (_, serde_json::Value::Null) => "None\n".into(),
        (_, v) => format!(
            "{}\n",
            crate::cli::output::json_for_terminal(&v.to_string())
        ),
    }
}

/// aws-cli's output format when `--output` is not given: `AWS_DEFAULT_OUTPUT`, else the
/// profile's `output`, else JSON. Of aws-cli's formats, `json` and `text` are printed;
/// `table` and unknown names are refused before any request.
pub(crate) fn configured_format(print: &mut Print, issuer: &Issuer<'_>) -> Result<(), Failure> {
    if !print.format_from_config {
        return Ok(());
    }
    let Some((value, from)) = issuer.setting("AWS_DEFAULT_OUTPUT", "output") else {
        return Ok(());
    };
    let origin = match from.as_str() {
        "AWS_DEFAULT_OUTPUT" => from,
        _ => "the profile's `output`".to_owned(),
    };
    print.format = match value.trim() {
        "json" => Format::Json,
        "text" => Format::Text,
        "table" => {
            return Err(Error::InvalidInput(format!(
                "{origin} is \"table\": eks-token, standing in for aws-cli, prints json or text; \
                 pass --output json or --output text"
            ))
            .into())
        }
        other => {
            return Err(Error::InvalidInput(format!(
                "{origin} is {other:?}, an unknown output type: use json or text"
            ))
            .into())
        }
    };
    Ok(())
}

/// Standard input, trimmed, read within `timeout` and at most `max` bytes: a writer that
/// never writes nor closes (or a terminal nobody types on) ends in an error, not a wait.
/// (A thread reads, so that the wait is bounded whatever stdin is.) `hint` says what to
/// do when nothing arrives.
pub(crate) fn read_stdin(
    max: u64,
    timeout: std::time::Duration,
    hint: &str,
) -> std::io::Result<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let read = std::io::stdin()
            .lock()
            .take(max + 1)
            .read_to_end(&mut bytes);
        let _ = tx.send(read.map(|_| bytes));
    });
    let bytes = match rx.recv_timeout(timeout) {
        Ok(read) => read?,
        Err(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("nothing (or no end) arrived within {timeout:?} (--timeout); {hint}"),
            ))
        }
    };
    if bytes.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("more than {} KiB arrived", max >> 10),
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text")
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("it was empty; {hint}"),
        ));
    }
    Ok(token.to_owned())
}
