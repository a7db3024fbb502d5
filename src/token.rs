//! The EKS bearer token: `k8s-aws-v1.` + unpadded base64url of a presigned STS
//! GetCallerIdentity URL whose signed headers are `host;x-k8s-aws-id`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use time::{Duration, OffsetDateTime};

use crate::credentials::Credentials;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::log::Log;
use crate::{sigv4, timefmt};

/// Every EKS token starts with this.
pub(crate) const PREFIX: &str = crate::secret::TOKEN_PREFIX;
/// The header that binds a token to one cluster: signed, never sent.
pub(crate) const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";
/// `X-Amz-Expires` of the presigned URL (as aws-cli and aws-iam-authenticator).
pub(crate) const URL_EXPIRES_SECS: u64 = 60;
/// EKS accepts a token for 15 minutes after signing; we promise 14.
pub(crate) const TOKEN_LIFETIME: Duration = Duration::minutes(14);
/// Tokens longer than this are rejected by the EKS server.
pub(crate) const MAX_TOKEN_BYTES: usize = 4096;

/// An EKS bearer token and when to stop using it. `Debug` hides the token.
#[derive(Clone)]
pub struct Token {
    /// `k8s-aws-v1.<base64url>`.
    pub value: String,
    /// When the client should ask for a new one.
    pub expiration: OffsetDateTime,
    /// The signing time (`X-Amz-Date`).
    pub signed_at: OffsetDateTime,
}

impl Token {
    /// What every EKS token starts with (`k8s-aws-v1.`, then the presigned URL in
    /// unpadded base64url).
    pub const PREFIX: &'static str = PREFIX;

    /// `t` as RFC 3339 in UTC with whole seconds (`2026-11-29T23:35:44Z`): the form of
    /// an ExecCredential's `expirationTimestamp`, which kubectl reads.
    pub fn rfc3339(t: OffsetDateTime) -> String {
        timefmt::format_rfc3339(t)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("value", &"***")
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// The presigned GetCallerIdentity URL for `cluster_id`, signed at `now`.
pub(crate) fn presigned_url(
    creds: &Credentials,
    endpoint: &Endpoint,
    cluster_id: &str,
    now: OffsetDateTime,
) -> String {
    let query = [
        ("Action".to_owned(), "GetCallerIdentity".to_owned()),
        ("Version".to_owned(), "2011-06-15".to_owned()),
    ];
    let headers = [(CLUSTER_ID_HEADER.to_owned(), cluster_id.to_owned())];
    let presigned = sigv4::presign(
        &sigv4::Request {
            method: "GET",
            host: &endpoint.host(),
            path: &endpoint.path("/"),
            query: &query,
            headers: &headers,
            body: b"",
        },
        creds,
        sigv4::Scope {
            time: now,
            region: &endpoint.signing_region,
            service: "sts",
        },
        URL_EXPIRES_SECS,
        sigv4::Settings::default(),
    );
    endpoint.join(&format!("/?{}", presigned.encoded))
}

/// Makes the token, signed at `signing_time` (our clock corrected by the server's).
/// Its expiry, in our own clock (kubectl compares it with the same clock), is the
/// earlier of 14 minutes from now and one minute before the signing credentials expire
/// (a token dies with its credentials).
pub(crate) fn generate(
    log: &Log,
    creds: &Credentials,
    endpoint: &Endpoint,
    cluster_id: &str,
    signing_time: OffsetDateTime,
    local_now: OffsetDateTime,
) -> Result<Token> {
    let skew = signing_time - local_now;
    let now = local_now;
    let mut expiration = now.checked_add(TOKEN_LIFETIME).ok_or_else(|| {
        Error::InvalidInput("the local clock is at the end of representable time".into())
    })?;
    // The credentials' expiry in the local clock. Beyond the representable range it
    // caps nothing; before it, the credentials are long expired.
    if let Some(e) = creds.expiration {
        let expired = || {
            Error::InvalidInput(format!(
                "the signing credentials (access key {}) expired at {}; refresh them and retry",
                creds.access_key_id,
                timefmt::format_rfc3339(e)
            ))
        };
        match e.checked_sub(skew) {
            None if skew.is_negative() => {}
            None => return Err(expired()),
            Some(c) if c <= now => return Err(expired()),
            Some(c) => {
                let cap = c
                    .checked_sub(Duration::minutes(1))
                    .filter(|cap| *cap > now)
                    .unwrap_or(c);
                expiration = expiration.min(cap);
            }
        }
    }
    let url = presigned_url(creds, endpoint, cluster_id, signing_time);
    let value = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(url.as_bytes()));
    if value.len() > MAX_TOKEN_BYTES {
        log.warn(format_args!(
            "the token is {} bytes and EKS rejects tokens over {MAX_TOKEN_BYTES} bytes: the \
             session token of the signing role is too large (session tags or an inline \
             session policy); sign with credentials that carry fewer tags or a smaller policy",
            value.len()
        ));
    }
    Ok(Token {
        value,
        expiration,
        signed_at: signing_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn endpoint() -> Endpoint {
        let settings = crate::endpoint::Settings::load(
            &crate::env::Env::default(),
            &Default::default(),
            "default",
            Some("us-west-2".into()),
        )
        .unwrap();
        crate::endpoint::resolve(crate::endpoint::Service::Sts, &settings, None).unwrap()
    }

    fn creds(token: Option<&str>, exp: Option<OffsetDateTime>) -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            session_token: token.map(Secret::new),
            expiration: exp,
            account_id: None,
        }
    }

    #[test]
    fn url_has_the_exact_layout() {
        let now = OffsetDateTime::from_unix_timestamp(1_440_938_160).unwrap();
        let t = generate(
            &Log::default(),
            &creds(Some("tok/+="), None),
            &endpoint(),
            "dev",
            now,
            now,
        )
        .unwrap();
        let url = crate::verify::decode(&t.value).unwrap();
        let prefix = "https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-west-2%2Fsts%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Security-Token=tok%2F%2B%3D&X-Amz-Signature=";
        assert!(url.starts_with(prefix), "{url}");
        let sig = &url[prefix.len()..];
        assert_eq!(sig.len(), 64);
        assert!(sig.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!t.value.contains('='));
        assert_eq!(t.expiration, now + Duration::minutes(14));
    }

    #[test]
    fn extreme_expirations_never_panic() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let max = time::PrimitiveDateTime::MAX.assume_utc();
        let min = time::PrimitiveDateTime::MIN.assume_utc();
        // Expiring at the largest representable time: no cap, a 14-minute token.
        let t = generate(
            &Log::default(),
            &creds(Some("t"), Some(max)),
            &endpoint(),
            "dev",
            now,
            now,
        )
        .unwrap();
        assert_eq!(t.expiration, now + Duration::minutes(14));
        // Even with the signing clock far behind ours (e - skew overflows).
        let behind = now - Duration::days(365);
        let t = generate(
            &Log::default(),
            &creds(Some("t"), Some(max)),
            &endpoint(),
            "dev",
            behind,
            now,
        )
        .unwrap();
        assert_eq!(t.expiration, now + Duration::minutes(14));
        // The smallest: long expired, an error naming it.
        let e = generate(
            &Log::default(),
            &creds(Some("t"), Some(min)),
            &endpoint(),
            "dev",
            now,
            now,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("expired"), "{e}");
        let ahead = now + Duration::days(365);
        assert!(generate(
            &Log::default(),
            &creds(Some("t"), Some(min)),
            &endpoint(),
            "dev",
            ahead,
            now
        )
        .is_err());
    }

    #[test]
    fn expiry_is_capped_by_the_credentials() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let exp = now + Duration::minutes(5);
        let t = generate(
            &Log::default(),
            &creds(Some("t"), Some(exp)),
            &endpoint(),
            "dev",
            now,
            now,
        )
        .unwrap();
        assert_eq!(t.expiration, exp - Duration::minutes(1));
        let expired = now - Duration::seconds(1);
        assert!(generate(
            &Log::default(),
            &creds(Some("t"), Some(expired)),
            &endpoint(),
            "dev",
            now,
            now
        )
        .is_err());
    }
}
