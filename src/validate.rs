//! Checks of user-supplied values, made before any network call so that a typo costs
//! no STS round trip and gets a message that names the value and the rule.

use crate::endpoint;
use crate::error::{Error, Result};

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// An access key id holds letters and digits (and `_`, which the API's pattern allows):
/// any other character, such as a secret key's `/` or `+`, means something else is in its
/// place, most often the secret key itself; so does a secret key shaped like an AWS key
/// id (`AKIA` or `ASIA` and 16 capitals or digits), or equal to the key id (pasted
/// twice). Neither value is ever shown.
pub(crate) fn access_key_id(id: &str, secret: &str, origin: &str) -> Result<()> {
    let key_id_like = |s: &str| {
        s.len() == 20
            && (s.starts_with("AKIA") || s.starts_with("ASIA"))
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    let id_chars = id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if id_chars && (key_id_like(id) || !key_id_like(secret)) && secret != id {
        return Ok(());
    }
    Err(Error::InvalidInput(format!(
        "the access key id of {origin} does not look like one (not shown: it may be the \
         secret key): check that the key id and the secret key are not swapped"
    )))
}

/// An IAM role ARN: `arn:<partition>:iam::<12-digit account>:role/[path/]name`.
pub(crate) fn role_arn(arn: &str, origin: &str) -> Result<()> {
    let bad = |why: &str| {
        Error::InvalidInput(format!(
            "{origin} {arn:?} is not a valid IAM role ARN: {why} (expected arn:aws:iam::123456789012:role/NAME)"
        ))
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return Err(bad(
            "it must have the form arn:PARTITION:iam::ACCOUNT:role/NAME",
        ));
    }
    if !endpoint::is_partition(parts[1]) {
        return Err(bad("unknown partition"));
    }
    if parts[2] != "iam" {
        return Err(bad("the service must be iam"));
    }
    if !parts[3].is_empty() {
        return Err(bad("IAM ARNs have no region"));
    }
    if parts[4].len() != 12 || !parts[4].bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("the account id must be 12 digits"));
    }
    let Some(resource) = parts[5].strip_prefix("role/") else {
        return Err(bad("the resource must start with role/"));
    };
    let (path, name) = resource.rsplit_once('/').unwrap_or(("", resource));
    if name.is_empty() || name.len() > 64 || !name.chars().all(is_name_char) {
        return Err(bad(
            "the role name must be 1-64 characters of A-Za-z0-9_+=,.@-",
        ));
    }
    if path.split('/').any(|s| !s.chars().all(is_name_char)) || resource.contains("//") {
        return Err(bad(
            "the role path may only hold A-Za-z0-9_+=,.@- and single slashes",
        ));
    }
    if arn.len() > 2048 {
        return Err(bad("it is longer than 2048 characters"));
    }
    Ok(())
}

/// A role session name: 2-64 characters of `[\w+=,.@-]`.
pub(crate) fn session_name(name: &str, origin: &str) -> Result<()> {
    if (2..=64).contains(&name.len()) && name.chars().all(is_name_char) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{origin} {name:?} is not a valid role session name: use 2-64 characters of A-Za-z0-9_+=,.@-"
        )))
    }
}

/// An external id: 2-1224 characters of `[\w+=,.@:/-]` (`origin` names where it was
/// given; its value is never shown).
pub(crate) fn external_id(id: &str, origin: &str) -> Result<()> {
    if (2..=1224).contains(&id.len()) && id.chars().all(|c| is_name_char(c) || c == ':' || c == '/')
    {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{origin} is not valid: use 2-1224 characters of A-Za-z0-9_+=,.@:/-"
        )))
    }
}

/// A session duration in seconds: 900-43200.
pub(crate) fn duration_seconds(secs: u32, origin: &str) -> Result<()> {
    if (900..=43200).contains(&secs) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{origin} {secs} is out of range: STS accepts 900 to 43200 (3600 at most for a chained role)"
        )))
    }
}

/// Longest cluster id eks-token signs.
const MAX_CLUSTER_ID: usize = 1024;

/// A cluster id as signed into the `x-k8s-aws-id` header: an EKS cluster name, an
/// Outposts cluster id, or any id an aws-iam-authenticator installation uses (often a
/// DNS name, e.g. for kops). Refused is only what cannot travel in a signed header:
/// nothing, control characters, spaces at either end, or an absurd length.
pub(crate) fn cluster_id(id: &str) -> Result<()> {
    let why = if id.is_empty() {
        Some("it is empty".to_owned())
    } else if id.chars().any(char::is_control) {
        Some("it holds a control character".to_owned())
    } else if id.trim() != id {
        Some("it starts or ends with a space".to_owned())
    } else if id.len() > MAX_CLUSTER_ID {
        Some(format!("it is longer than {MAX_CLUSTER_ID} bytes"))
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(Error::InvalidInput(format!(
            "cluster name {:?} cannot be signed into a token: {why}",
            id.chars().take(80).collect::<String>()
        ))),
    }
}

/// Role ARNs of the config files are only checked for shape: the SDKs' recorded
/// scenarios use accounts of other lengths, and STS has the last word. (`--role-arn`
/// values were checked in full when the plan was made.)
pub(crate) fn config_role_arn(arn: &str) -> Result<()> {
    if arn.starts_with("arn:") && arn.contains(":role/") {
        Ok(())
    } else {
        Err(Error::config(
            None,
            format!(
                "role_arn {arn:?} in the config files is not an IAM role ARN \
                 (arn:aws:iam::ACCOUNT:role/NAME)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        for ok in [
            "arn:aws:iam::222222222222:role/testrole",
            "arn:aws-cn:iam::123456789012:role/path/to/Role+=,.@-_",
            "arn:aws-us-gov:iam::123456789012:role/a",
        ] {
            assert!(role_arn(ok, "--role-arn").is_ok(), "{ok}");
        }
        for bad in [
            "",
            "testrole",
            "arn:aws:iam::22222222222:role/short-account",
            "arn:aws:iam::2222222222223:role/long-account",
            "arn:aws:iam::abcdefghijkl:role/x",
            "arn:aws:sts::222222222222:role/x",
            "arn:aws:iam:us-east-1:222222222222:role/x",
            "arn:aws:iam::222222222222:user/x",
            "arn:aws:iam::222222222222:role/",
            "arn:aws:iam::222222222222:role/bad name",
            "arn:aws:iam::222222222222:role/a//b",
            "arn:nope:iam::222222222222:role/x",
        ] {
            let e = role_arn(bad, "--role-arn").unwrap_err().to_string();
            assert!(e.contains("--role-arn"), "{e}");
        }
    }

    #[test]
    fn other_values() {
        assert!(session_name("EKSGetTokenAuth", "--session-name").is_ok());
        assert!(session_name("a", "--session-name").is_err());
        assert!(session_name("has space", "--session-name").is_err());
        assert!(session_name(&"x".repeat(65), "--session-name").is_err());
        assert!(external_id("abc:/x", "x").is_ok());
        assert!(external_id("a", "x").is_err());
        assert!(duration_seconds(900, "x").is_ok());
        assert!(duration_seconds(899, "x").is_err());
        assert!(duration_seconds(43201, "x").is_err());
        assert!(cluster_id("dev-cluster_1").is_ok());
        // aws-iam-authenticator ids are often DNS names (kops); aws-cli signs anything.
        assert!(cluster_id("my-dev-cluster.example.com").is_ok());
        assert!(cluster_id("a.b").is_ok());
        assert!(cluster_id("-x").is_ok());
        assert!(cluster_id("").is_err());
        assert!(cluster_id("a\nb").is_err());
        assert!(cluster_id("a\rb").is_err());
        assert!(cluster_id(" a").is_err());
        assert!(cluster_id(&"x".repeat(1025)).is_err());
    }
}
