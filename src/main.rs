//! The `eks-token` binary: parse arguments, run, print, map errors to exit codes.

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use eks_token::{cli, env::Env, Error};

fn main() -> ExitCode {
    let args: Result<Vec<String>, _> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect();
    let result = match args {
        Ok(args) => cli::parse(&args).and_then(|cmd| eks_token::run(&cmd, &Env::from_process())),
        Err(bad) => Err(Error::Usage(format!(
            "argument {:?} is not valid UTF-8",
            bad.to_string_lossy()
        ))),
    };
    match result {
        Ok((out, code)) => {
            let mut stdout = std::io::stdout().lock();
            if stdout
                .write_all(out.as_bytes())
                .and_then(|()| stdout.flush())
                .is_err()
            {
                eprintln!("eks-token: cannot write to stdout");
                return ExitCode::from(1);
            }
            ExitCode::from(code)
        }
        Err(e) => {
            eprintln!("eks-token: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
