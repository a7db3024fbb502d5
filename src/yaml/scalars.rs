//! Scalars as kubectl reads them: client-go reads a kubeconfig with go-yaml v2, whose
//! plain scalars have YAML 1.1's types and whose core tags type a value or refuse it.

use base64::Engine;
use yaml_rust2::scanner::TScalarStyle;
use yaml_rust2::Yaml;

use super::refused::Refused;

/// A scalar as kubectl reads it: plain and untagged as [`resolve_plain`] says; quoted
/// and untagged a string; with a core tag (`!!str`, `!!int`, `!!float`, `!!bool`,
/// `!!null`, `!!binary`) that type, its text resolved as go-yaml v2 resolves it (a text
/// that is not of the type is an error, as it is to kubectl); with another tag, its text.
pub(super) fn typed_scalar(
    value: String,
    style: TScalarStyle,
    tag: Option<yaml_rust2::parser::Tag>,
) -> Result<Yaml, Refused> {
    let Some(tag) = tag else {
        return Ok(if style == TScalarStyle::Plain {
            resolve_plain(&value)
        } else {
            Yaml::String(value)
        });
    };
    if tag.handle != "tag:yaml.org,2002:" {
        return Ok(Yaml::String(value));
    }
    let t = tag.suffix.as_str();
    let resolved = resolve_plain(&value);
    let typed = match (t, resolved) {
        ("binary", _) => {
            let compact: String = value.split_whitespace().collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map_err(|_| Refused::Binary(value.clone()))?;
            Yaml::String(String::from_utf8_lossy(&bytes).into_owned())
        }
        ("int", i @ Yaml::Integer(_)) => i,
        ("int", Yaml::Real(r)) if go_int(&r.replace('_', "")).is_some() => Yaml::Real(r),
        ("float", Yaml::Integer(i)) => Yaml::Real(format!("{i}.0")),
        ("float", f @ Yaml::Real(_)) => f,
        ("bool", b @ Yaml::Boolean(_)) => b,
        ("null", Yaml::Null) => Yaml::Null,
        ("int" | "float" | "bool" | "null", _) => {
            return Err(Refused::Tag(t.to_owned(), value));
        }
        _ => Yaml::String(value),
    };
    Ok(typed)
}

/// What kubectl reads a plain (unquoted, untagged) scalar as. client-go reads a
/// kubeconfig with go-yaml v2, whose types are YAML 1.1's: `on`, `yes`, `y` are true,
/// `0755` is the octal 493, `1e3` the float 1000, `~` null (its `resolve.go`). Loading
/// values this way, a kubeconfig written back keeps what kubectl reads in entries
/// eks-token does not touch. Floats, and integers beyond `i64`, keep their text.
pub(crate) fn resolve_plain(s: &str) -> Yaml {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Yaml::Boolean(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Yaml::Boolean(false)
        }
        "" | "~" | "null" | "Null" | "NULL" => return Yaml::Null,
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF"
        | "-.inf" | "-.Inf" | "-.INF" => return Yaml::Real(s.to_owned()),
        _ => {}
    }
    let float = |t: &str| t.parse::<f64>().is_ok_and(f64::is_finite);
    match s.as_bytes()[0] {
        b'.' if go_float(s) && float(s) => return Yaml::Real(s.to_owned()),
        b'+' | b'-' | b'0'..=b'9' => {
            let plain = s.replace('_', "");
            match go_int(&plain) {
                Some((true, m)) if m <= 1 << 63 => {
                    return Yaml::Integer((-(i128::from(m))) as i64);
                }
                Some((false, m)) if m <= i64::MAX as u64 => return Yaml::Integer(m as i64),
                // A uint64 (ParseUint takes no sign).
                Some((false, _)) if !plain.starts_with('+') => return Yaml::Real(s.to_owned()),
                _ => {}
            }
            if go_float(&plain) && float(&plain) {
                return Yaml::Real(s.to_owned());
            }
        }
        _ => {}
    }
    Yaml::String(s.to_owned())
}

/// Go's `strconv.ParseUint(s, 0, 64)` after an optional sign, as `ParseInt(s, 0, 64)`
/// reads it: `0x`, `0o`, `0b` prefixes, a leading `0` for octal, else decimal. The
/// sign, and the magnitude when it fits 64 bits.
fn go_int(s: &str) -> Option<(bool, u64)> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, body) = match digits.get(..2) {
        Some("0x" | "0X") => (16, &digits[2..]),
        Some("0o" | "0O") => (8, &digits[2..]),
        Some("0b" | "0B") => (2, &digits[2..]),
        _ if digits.len() > 1 && digits.starts_with('0') => (8, &digits[1..]),
        _ => (10, digits),
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(body, radix).ok().map(|m| (negative, m))
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn go_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}
