//! AWS credentials: the one type every layer above passes around. It sits at the bottom:
//! signing, STS, the cache and every source use it; it uses none of them.

use std::fmt;

use time::OffsetDateTime;

use crate::secret::Secret;

/// Credentials are renewed when less than this remains, so that every token signed with
/// them gets its full 14 minutes.
pub(crate) const REFRESH_MARGIN: time::Duration = time::Duration::minutes(15);

/// A set of AWS credentials. `Debug` shows the access key id, never the secrets.
#[derive(Clone)]
pub struct Credentials {
    /// Access key id (not secret: it appears in every signature's scope).
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: Secret,
    /// Session token of temporary credentials.
    pub session_token: Option<Secret>,
    /// When temporary credentials expire.
    pub expiration: Option<OffsetDateTime>,
    /// The account the credentials belong to, when the source says.
    pub account_id: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .field("session_token", &self.session_token)
            .field("expiration", &self.expiration)
            .field("account_id", &self.account_id)
            .finish()
    }
}

/// What is wrong with a credentials document (names fields, never values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JsonError {
    NotJson,
    Missing(&'static str),
    BadExpiration,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::NotJson => f.write_str("the credentials are not a JSON object"),
            JsonError::Missing(k) => write!(f, "the credentials have no {k}"),
            JsonError::BadExpiration => {
                f.write_str("the credentials' Expiration is not an RFC 3339 timestamp")
            }
        }
    }
}

/// Reads `AccessKeyId`, `SecretAccessKey`, the session token (field `token_field`:
/// `Token` for containers and IMDS, `SessionToken` for credential_process),
/// `Expiration` and `AccountId` from a JSON credentials document.
pub(crate) fn from_json(
    json: &serde_json::Value,
    token_field: &'static str,
) -> Result<Credentials, JsonError> {
    if !json.is_object() {
        return Err(JsonError::NotJson);
    }
    let get = |k: &str| {
        json.get(k)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let need = |k: &'static str| get(k).ok_or(JsonError::Missing(k));
    let expiration = match get("Expiration") {
        None => None,
        Some(e) => Some(crate::timefmt::parse_rfc3339(e).ok_or(JsonError::BadExpiration)?),
    };
    Ok(Credentials {
        access_key_id: need("AccessKeyId")?.to_owned(),
        secret_access_key: Secret::new(need("SecretAccessKey")?),
        session_token: get(token_field).map(Secret::new),
        expiration,
        account_id: get("AccountId").map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let c = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            session_token: Some(Secret::new("FwoGZXIvYXdzEXAMPLETOKEN")),
            expiration: None,
            account_id: None,
        };
        let d = format!("{c:?}");
        assert!(d.contains("AKIDEXAMPLE"));
        assert!(!d.contains("wJalr"));
        assert!(!d.contains("FwoG"));
    }

    #[test]
    fn json_documents() {
        let ok = serde_json::json!({"AccessKeyId": "A", "SecretAccessKey": "S", "Token": "T",
            "Expiration": "2030-01-01T00:00:00Z", "AccountId": "123456789012"});
        let c = from_json(&ok, "Token").unwrap();
        assert_eq!(c.session_token.unwrap().expose(), "T");
        assert_eq!(c.account_id.as_deref(), Some("123456789012"));
        let no_secret = serde_json::json!({"AccessKeyId": "A", "SecretAccessKey": ""});
        assert_eq!(
            from_json(&no_secret, "Token").unwrap_err(),
            JsonError::Missing("SecretAccessKey")
        );
        let bad =
            serde_json::json!({"AccessKeyId": "A", "SecretAccessKey": "S", "Expiration": "soon"});
        assert_eq!(
            from_json(&bad, "Token").unwrap_err(),
            JsonError::BadExpiration
        );
        assert_eq!(
            from_json(&serde_json::json!([1]), "Token").unwrap_err(),
            JsonError::NotJson
        );
    }
}
