//! The one key function of the cache: what makes two sessions the same.

use ring::digest;

use crate::endpoint::{self, Endpoint};

/// What determines one entry. Every field is part of its key (the README lists them).
pub(crate) struct Key<'a> {
    /// The call that handed out the credentials: `AssumeRole`,
    /// `AssumeRoleWithWebIdentity` or `GetRoleCredentials`.
    pub(crate) call: &'static str,
    /// Who asked: the access key id that signed the call; the issuer, subject and
    /// audience of a web identity token; a digest of an SSO access token.
    pub(crate) caller: &'a str,
    /// Every parameter that shapes the session, by name (role ARN, session name,
    /// external id, duration, MFA serial, policy; SSO account and role).
    pub(crate) session: &'a [(&'static str, &'a str)],
    /// Where it was asked.
    pub(crate) endpoint: &'a Endpoint,
}

/// The one key function: SHA-256 over every field of `k`, each length-prefixed, and the
/// endpoint's URL, signing region, partition and whether it is an override.
pub(crate) fn key(k: &Key<'_>) -> String {
    // Gathered first and digested once: many small digest updates cost more.
    let ep = k.endpoint;
    let url = ep.join("/");
    let fields = k
        .session
        .iter()
        .map(|(n, v)| n.len() + v.len() + 16)
        .sum::<usize>();
    let mut buf = Vec::with_capacity(fields + k.caller.len() + url.len() + 160);
    let mut part = |p: &str| {
        buf.extend_from_slice(&(p.len() as u64).to_le_bytes());
        buf.extend_from_slice(p.as_bytes());
    };
    part("eks-token cache key v2");
    part(k.call);
    part(k.caller);
    for (name, value) in k.session {
        part(name);
        part(value);
    }
    part(&url);
    part(&ep.signing_region);
    part(endpoint::partition(&ep.signing_region).name);
    part(if ep.overridden {
        "override"
    } else {
        "resolved"
    });
    crate::url::hex(digest::digest(&digest::SHA256, &buf).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Env;

    fn ep(region: &str) -> Endpoint {
        let settings = endpoint::Settings::load(
            &Env::default(),
            &Default::default(),
            "default",
            Some(region.into()),
        )
        .unwrap();
        endpoint::resolve(endpoint::Service::Sts, &settings, None).unwrap()
    }

    #[test]
    fn every_field_is_in_the_key() {
        let (east, west) = (ep("us-east-1"), ep("us-west-2"));
        let base = Key {
            call: "AssumeRole",
            caller: "AKIAAAAAAAAAAAAAAAAA",
            session: &[("role_arn", "arn:aws:iam::1:role/a"), ("session_name", "s")],
            endpoint: &east,
        };
        let k = key(&base);
        assert_eq!(k.len(), 64);
        assert_eq!(k, key(&Key { ..base }));
        let others = [
            Key {
                caller: "AKIABBBBBBBBBBBBBBBB",
                ..base
            },
            Key {
                session: &[("role_arn", "arn:aws:iam::1:role/b"), ("session_name", "s")],
                ..base
            },
            // Length prefixes: moving a byte from one field to the next changes the key.
            Key {
                session: &[("role_arn", "arn:aws:iam::1:role/as"), ("session_name", "")],
                ..base
            },
            Key {
                endpoint: &west,
                ..base
            },
            Key {
                call: "AssumeRoleWithWebIdentity",
                ..base
            },
        ];
        for other in &others {
            assert_ne!(k, key(other));
        }
    }
}
