//! IRSA: `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (+ `AWS_ROLE_SESSION_NAME`),
//! traded with STS AssumeRoleWithWebIdentity. The file is read on every use because
//! kubelet rotates it.

use super::{Context, Loaded};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::validate;

/// Session name of the IRSA hop when `AWS_ROLE_SESSION_NAME` is unset. A fixed string,
/// not a timestamp, so that a credential cache can key on it.
pub const DEFAULT_SESSION_NAME: &str = "eks-token";

/// Largest token file we read; projected service account tokens are about 1 KiB.
const MAX_TOKEN_BYTES: u64 = 64 * 1024;

/// Loads web identity credentials.
pub fn load(ctx: &Context<'_>) -> Result<Loaded> {
    let env = ctx.env;
    let (file, role_arn) = match (env.get("AWS_WEB_IDENTITY_TOKEN_FILE"), env.get("AWS_ROLE_ARN")) {
        (Some(f), Some(r)) => (f, r),
        (None, _) => {
            return Ok(Loaded::NotConfigured(
                "AWS_WEB_IDENTITY_TOKEN_FILE not set".into(),
            ))
        }
        (Some(f), None) => {
            return Err(Error::Source {
                source: "web identity",
                message: format!(
                    "AWS_WEB_IDENTITY_TOKEN_FILE is set ({f}) but AWS_ROLE_ARN is not; set the role to assume"
                ),
            })
        }
    };
    validate::role_arn(role_arn, "AWS_ROLE_ARN")?;
    let session_name = env
        .get("AWS_ROLE_SESSION_NAME")
        .unwrap_or(DEFAULT_SESSION_NAME);
    validate::session_name(session_name, "AWS_ROLE_SESSION_NAME")?;
    let assume = || -> Result<super::Credentials> {
        let token = read_token_file(file)?;
        Ok(ctx
            .sts
            .client()?
            .assume_role_with_web_identity(role_arn, session_name, &token, None)?
            .credentials)
    };
    let creds = match ctx.cache.get() {
        Some(cache) => {
            let ep = ctx.sts.endpoint()?;
            let key =
                crate::cache::Cache::key_at(ep, &["web-identity", role_arn, file, session_name]);
            cache.get_or_fill(&key, &format!("web identity role {role_arn}"), assume)?
        }
        None => assume()?,
    };
    Ok(Loaded::Found(
        creds,
        format!("web identity token {file} -> {role_arn}"),
    ))
}

/// Reads a web identity token file; errors name the file, never its content.
pub fn read_token_file(path: &str) -> Result<Secret> {
    use std::io::Read;
    let err = |detail: String| Error::Source {
        source: "web identity",
        message: format!(
            "cannot use the token file {path} (AWS_WEB_IDENTITY_TOKEN_FILE): {detail}"
        ),
    };
    let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let mut buf = Vec::new();
    file.take(MAX_TOKEN_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| err(e.to_string()))?;
    if buf.len() as u64 > MAX_TOKEN_BYTES {
        return Err(err(format!(
            "it is larger than {} KiB",
            MAX_TOKEN_BYTES / 1024
        )));
    }
    let text = String::from_utf8(buf).map_err(|_| err("it is not UTF-8 text".into()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(err("it is empty".into()));
    }
    Ok(Secret::new(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_errors_name_the_file_not_the_content() {
        let dir = std::env::temp_dir().join(format!("eks-token-wi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty");
        std::fs::write(&empty, "  \n").unwrap();
        let e = read_token_file(empty.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("empty") && e.contains(empty.to_str().unwrap()),
            "{e}"
        );
        let missing = dir.join("missing");
        let e = read_token_file(missing.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains(missing.to_str().unwrap()), "{e}");
        let good = dir.join("good");
        std::fs::write(&good, "eyJhbGciOiJSUzI1NiJ9.secret-part\n").unwrap();
        assert_eq!(
            read_token_file(good.to_str().unwrap()).unwrap().expose(),
            "eyJhbGciOiJSUzI1NiJ9.secret-part"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
