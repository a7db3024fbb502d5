//! A string that must never be printed: secret keys, session tokens, web identity tokens;
//! and the hiding of such values in text that is printed (every stderr line).

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

/// Values no line shows: the environment's secret key and session token, hidden by
/// [`hide`].
static HIDDEN: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// Makes every line show `***` where one of `values` would be (the first call counts;
/// values under 8 bytes are too short to tell from other text and are left). For what a
/// user may paste into the wrong argument, to be echoed in an error.
pub(crate) fn hide(values: impl IntoIterator<Item = String>) {
    _ = HIDDEN.set(values.into_iter().filter(|v| v.len() >= 8).collect());
}

/// `text` with what must not be shown replaced: EKS tokens (`k8s-aws-v1.***`), web
/// identity tokens and other JWTs (`eyJ***`), and the values given to [`hide`].
pub(crate) fn redacted(text: &str) -> String {
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
    for v in HIDDEN.get().into_iter().flatten() {
        if out.contains(v.as_str()) {
            out = out.replace(v.as_str(), "***");
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
            redacted(&format!("token {token} is invalid; again: {token}.")),
            "token k8s-aws-v1.*** is invalid; again: k8s-aws-v1.***."
        );
        assert_eq!(redacted("k8s-aws-v1."), "k8s-aws-v1.***");
        assert_eq!(
            redacted("--role-arn \"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln\" is bad"),
            "--role-arn \"eyJ***\" is bad"
        );
        assert_eq!(redacted("eyJ alone, or eyJx.y"), "eyJ alone, or eyJx.y");
        // Found by the fuzzer: a token inside what follows a lone "eyJ".
        assert_eq!(
            redacted("eyJ--x-k8s-aws-v1.aHR0 and eyJk8s-aws-v1.abc.d"),
            "eyJ--x-k8s-aws-v1.*** and eyJ***"
        );
        assert_eq!(redacted("Unauthorized"), "Unauthorized");
    }
}
