//! A string that must never be printed: secret keys, session tokens, web identity tokens;
//! and the hiding of such values in text that is printed ([`Redactor`]: every line a run
//! writes goes through the one of its [`crate::Log`]).

use std::cell::RefCell;
use std::fmt;

/// Holds a secret value; `Debug` and `Display` print `***`, and the bytes are
/// overwritten when it is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself: only for signing, request bodies and the token.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best effort without unsafe code: overwrite the heap buffer before it is freed.
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.iter_mut().for_each(|b| *b = 0);
        std::hint::black_box(&bytes);
    }
}

/// What every EKS token starts with: a bearer credential, found in text by its form.
pub(crate) const TOKEN_PREFIX: &str = "k8s-aws-v1.";

/// The query parameters of a presigned URL whose values make it replayable (or name
/// the key that signed it): hidden wherever they appear, in any case.
const QUERY_SECRETS: [&str; 3] = [
    "x-amz-signature=",
    "x-amz-security-token=",
    "x-amz-credential=",
];

/// Values shorter than this are too short to tell from other text and are left.
const MIN_HIDDEN: usize = 8;

/// The EKS tokens kept to hide as values (beyond their form, which hides any): the
/// most recent ones. A sidecar makes one a refresh, for ever; each dies within 15
/// minutes, and a run that kept them all would grow without end.
const RECENT_TOKENS: usize = 16;

/// Every secret one run holds, and the hiding of them in text that is printed: each
/// value in every form a server might echo it in (as it is; percent-encoded, as in a
/// request body or a presigned URL; for an EKS token, also without its prefix), and by
/// their form the secrets of any run (EKS tokens, JWTs, the signature, session token and
/// credential of a presigned URL). Values are kept as [`Secret`]s (zeroed when dropped).
#[derive(Default)]
pub(crate) struct Redactor {
    values: RefCell<Vec<Secret>>,
    /// EKS tokens, the most recent [`RECENT_TOKENS`].
    tokens: RefCell<std::collections::VecDeque<Secret>>,
}

impl Redactor {
    /// From now on, `value` is hidden in every form. Kept as it is: its forms are made
    /// only when a line is printed (most runs print none).
    pub(crate) fn hide(&self, value: &str) {
        let value = value.trim();
        if value.len() < MIN_HIDDEN {
            return;
        }
        if value.starts_with(TOKEN_PREFIX) {
            let mut tokens = self.tokens.borrow_mut();
            if !tokens.iter().any(|v| v.expose() == value) {
                if tokens.len() == RECENT_TOKENS {
                    tokens.pop_front();
                }
                tokens.push_back(Secret::new(value));
            }
            return;
        }
        let mut values = self.values.borrow_mut();
        if !values.iter().any(|v| v.expose() == value) {
            values.push(Secret::new(value));
        }
    }

    /// `text` with what must not be shown replaced by `***`.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut out = by_form(text);
        let (values, tokens) = (self.values.borrow(), self.tokens.borrow());
        if values.is_empty() && tokens.is_empty() {
            return out;
        }
        let mut forms: Vec<Secret> = Vec::with_capacity((values.len() + tokens.len()) * 3);
        for v in values.iter().chain(tokens.iter()) {
            let value = v.expose();
            let mut encoded = String::new();
            crate::url::uri_encode(value, false, &mut encoded);
            forms.push(Secret::new(encoded));
            if let Some(body) = value.strip_prefix(TOKEN_PREFIX) {
                forms.push(Secret::new(body));
            }
            forms.push(v.clone());
        }
        // The longest first: a form inside another is not left half shown.
        forms.sort_by_key(|f| std::cmp::Reverse(f.expose().len()));
        for f in forms.iter().filter(|f| f.expose().len() >= MIN_HIDDEN) {
            if out.contains(f.expose()) {
                out = out.replace(f.expose(), "***");
            }
        }
        out
    }
}

/// `text` with the secrets found by their form replaced: EKS tokens (`k8s-aws-v1.***`),
/// web identity tokens and other JWTs (`eyJ***`), and the values of a presigned URL's
/// `X-Amz-Signature`, `X-Amz-Security-Token` and `X-Amz-Credential`.
pub(crate) fn by_form(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let token_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    while let Some((at, prefix)) = [TOKEN_PREFIX, "eyJ"]
        .iter()
        .filter_map(|p| rest.find(p).map(|i| (i, *p)))
        .min()
    {
        let after = &rest[at + prefix.len()..];
        let end = after
            .find(|c: char| !(token_char(c) || (prefix == "eyJ" && c == '.')))
            .unwrap_or(after.len());
        // A JWT is three parts: "eyJ" alone is text, and what follows it is read again
        // (a token may be in it).
        out.push_str(&rest[..at + prefix.len()]);
        if prefix != "eyJ" || after[..end].matches('.').count() >= 2 {
            out.push_str("***");
            rest = &after[end..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    hide_query_secrets(out)
}

/// The values of [`QUERY_SECRETS`] replaced, up to the next `&`, space, quote or bracket.
fn hide_query_secrets(text: String) -> String {
    // ASCII lowering keeps every byte offset.
    let lower = text.to_ascii_lowercase();
    if !QUERY_SECRETS.iter().any(|p| lower.contains(p)) {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let hit = QUERY_SECRETS.iter().find(|p| lower[i..].starts_with(**p));
        match hit {
            Some(p) => {
                out.push_str(&text[i..i + p.len()]);
                out.push_str("***");
                i += p.len();
                let end = text[i..]
                    .find(|c: char| c == '&' || c.is_whitespace() || "\"'<>()[]{},;".contains(c))
                    .map_or(text.len(), |e| i + e);
                i = end;
            }
            None => {
                let c = text[i..].chars().next().expect("within the text");
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let s = Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(***)");
        assert_eq!(s.expose(), "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    }

    #[test]
    fn tokens_and_jwts_are_never_shown() {
        let token = "k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_QWN0aW9u";
        assert_eq!(
            by_form(&format!("token {token} is invalid; again: {token}.")),
            "token k8s-aws-v1.*** is invalid; again: k8s-aws-v1.***."
        );
        assert_eq!(by_form("k8s-aws-v1."), "k8s-aws-v1.***");
        assert_eq!(
            by_form("--role-arn \"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln\" is bad"),
            "--role-arn \"eyJ***\" is bad"
        );
        assert_eq!(by_form("eyJ alone, or eyJx.y"), "eyJ alone, or eyJx.y");
        // Found by the fuzzer: a token inside what follows a lone "eyJ".
        assert_eq!(
            by_form("eyJ--x-k8s-aws-v1.aHR0 and eyJk8s-aws-v1.abc.d"),
            "eyJ--x-k8s-aws-v1.*** and eyJ***"
        );
        assert_eq!(by_form("Unauthorized"), "Unauthorized");
    }

    #[test]
    fn a_presigned_urls_secrets_are_hidden_by_name() {
        let url = "https://sts.amazonaws.com/?Action=GetCallerIdentity&X-Amz-Credential=\
                   AKID%2F20261207%2Fus-east-1%2Fsts%2Faws4_request&x-amz-security-token=\
                   FwoG%2Fabc%3D&X-Amz-Signature=0123abcd";
        let shown = by_form(&format!("bad: {url} (again)"));
        assert_eq!(
            shown,
            "bad: https://sts.amazonaws.com/?Action=GetCallerIdentity&X-Amz-Credential=***\
             &x-amz-security-token=***&X-Amz-Signature=*** (again)"
        );
        assert_eq!(by_form("X-AMZ-SIGNATURE=é"), "X-AMZ-SIGNATURE=***");
    }

    #[test]
    fn every_form_of_a_hidden_value_is_hidden() {
        let r = Redactor::default();
        r.hide("FwoGZXIvYXdzEJr//////////wEaDO+session=");
        r.hide("short");
        r.hide("k8s-aws-v1.aHR0cHM6Ly9zdHMuZXhhbXBsZS5jb20v");
        for echoed in [
            "token FwoGZXIvYXdzEJr//////////wEaDO+session= is invalid",
            "token FwoGZXIvYXdzEJr%2F%2F%2F%2F%2F%2F%2F%2F%2F%2FwEaDO%2Bsession%3D is invalid",
            "token aHR0cHM6Ly9zdHMuZXhhbXBsZS5jb20v is invalid",
        ] {
            assert_eq!(r.redact(echoed), "token *** is invalid", "{echoed}");
        }
        assert_eq!(r.redact("a short word"), "a short word");
    }

    #[test]
    fn a_sidecars_tokens_are_kept_to_the_most_recent() {
        let r = Redactor::default();
        let token = |i: usize| format!("k8s-aws-v1.dG9rZW4tbnVtYmVyLTAwMDAw{i:04}");
        for i in 0..1000 {
            r.hide(&token(i));
        }
        assert_eq!(r.tokens.borrow().len(), RECENT_TOKENS);
        let body = |i: usize| token(i)[TOKEN_PREFIX.len()..].to_owned();
        assert_eq!(r.redact(&body(999)), "***");
        assert_eq!(
            r.redact(&body(0)),
            body(0),
            "an old token's body is dropped"
        );
        // Its form still hides any token whole.
        assert_eq!(r.redact(&token(0)), "k8s-aws-v1.***");
    }
}
