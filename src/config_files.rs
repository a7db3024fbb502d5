//! The shared config and credentials files (`~/.aws/config`, `~/.aws/credentials`):
//! where they are, how they parse (the SDKs' shared `profile-parser-tests.json`), and
//! which profile is selected. This is only the file format; what a profile means for
//! credentials is [`crate::plan`]'s business.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::env::Env;
use crate::error::Error;

/// The properties of one section; keys are lower case.
pub(crate) type Properties = BTreeMap<String, String>;

/// Every profile, `[sso-session]` and `[services]` section of both files, merged.
/// No derived `Debug`: profiles hold secret keys.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct ProfileSet {
    /// Profiles by name.
    pub(crate) profiles: BTreeMap<String, Properties>,
    /// `[sso-session NAME]` sections.
    pub(crate) sso_sessions: BTreeMap<String, Properties>,
    /// `[services NAME]` sections.
    pub(crate) services: BTreeMap<String, Properties>,
    /// Profiles whose access key id and secret both come from the credentials file
    /// (which come before `credential_process`, and keys of the config file after it).
    pub(crate) keys_in_credentials_file: std::collections::BTreeSet<String>,
}

impl std::fmt::Debug for ProfileSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileSet")
            .field("profiles", &self.profiles.keys().collect::<Vec<_>>())
            .field(
                "sso_sessions",
                &self.sso_sessions.keys().collect::<Vec<_>>(),
            )
            .field("services", &self.services.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Which file a text came from: their section headers differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    /// `~/.aws/config`: `[profile NAME]`, `[default]`, `[sso-session NAME]`, `[services NAME]`.
    Config,
    /// `~/.aws/credentials`: `[NAME]`.
    Credentials,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Section {
    /// A profile; `prefixed` for `[profile default]` as opposed to `[default]`.
    Profile {
        name: String,
        prefixed: bool,
    },
    SsoSession(String),
    Services(String),
    Ignored,
}

fn is_valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-/.%@_:+".contains(c))
}

fn classify(name: &str, kind: FileKind) -> Section {
    let valid = |n: &str| {
        if is_valid_name(n) {
            Some(n.to_owned())
        } else {
            None
        }
    };
    let prefixed = |prefix: &str| {
        name.strip_prefix(prefix)
            .filter(|rest| rest.starts_with([' ', '\t']))
            .map(str::trim)
    };
    match kind {
        FileKind::Credentials => match valid(name) {
            Some(n) => Section::Profile {
                name: n,
                prefixed: false,
            },
            None => Section::Ignored,
        },
        FileKind::Config => {
            if name == "default" {
                Section::Profile {
                    name: name.into(),
                    prefixed: false,
                }
            } else if let Some(rest) = prefixed("profile") {
                valid(rest).map_or(Section::Ignored, |n| Section::Profile {
                    name: n,
                    prefixed: true,
                })
            } else if let Some(rest) = prefixed("sso-session") {
                valid(rest).map_or(Section::Ignored, Section::SsoSession)
            } else if let Some(rest) = prefixed("services") {
                valid(rest).map_or(Section::Ignored, Section::Services)
            } else {
                Section::Ignored
            }
        }
    }
}

/// Cuts a `#` or `;` comment that follows whitespace (`a # b` -> `a`, `a;b` stays).
fn strip_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for i in 1..bytes.len() {
        if (bytes[i] == b'#' || bytes[i] == b';') && bytes[i - 1].is_ascii_whitespace() {
            return &value[..i];
        }
    }
    value
}

/// Why a file cannot be parsed: the SDKs' message and the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) message: &'static str,
    pub(crate) line: usize,
    /// In the credentials file (else the config file).
    pub(crate) credentials: bool,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (line {})", self.message, self.line)
    }
}

/// The sections of one file, in order, with their properties.
fn parse_file(text: &str, kind: FileKind) -> Result<Vec<(Section, Properties)>, ParseError> {
    let mut sections: Vec<(Section, Properties)> = Vec::new();
    // The last property of the current section, and whether it takes sub-properties
    // (its value was empty on its own line); None after a section header.
    let mut last: Option<(Option<String>, bool)> = None;
    for (n, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let at = |message: &'static str| ParseError {
            message,
            line: n + 1,
            credentials: kind == FileKind::Credentials,
        };
        if line.trim().is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let end = rest
                .find(']')
                .ok_or_else(|| at("Profile definition must end with ']'"))?;
            let after = rest[end + 1..].trim_start();
            if !(after.is_empty() || after.starts_with(['#', ';'])) {
                return Err(at(
                    "Expected a comment or the end of the line after a profile definition",
                ));
            }
            sections.push((classify(rest[..end].trim(), kind), Properties::new()));
            last = None;
            continue;
        }
        let Some((_, props)) = sections.last_mut() else {
            return Err(at("Expected a profile definition"));
        };
        if line.starts_with([' ', '\t']) {
            let Some((key, sub)) = &last else {
                return Err(at("Expected a property definition, found continuation"));
            };
            let trimmed = line.trim();
            if *sub {
                let (k, _) = trimmed
                    .split_once('=')
                    .ok_or_else(|| at("Expected an '=' sign defining a sub-property"))?;
                if k.trim().is_empty() {
                    return Err(at("Sub-property did not have a name"));
                }
            }
            if let Some(v) = key.as_ref().and_then(|k| props.get_mut(k)) {
                v.push('\n');
                v.push_str(trimmed);
            }
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| at("Expected an '=' sign defining a property"))?;
        let k = k.trim();
        if k.is_empty() {
            return Err(at("Property did not have a name"));
        }
        let v = strip_comment(v).trim();
        if is_valid_name(k) {
            let key = k.to_ascii_lowercase();
            props.insert(key.clone(), v.to_owned());
            last = Some((Some(key), v.is_empty()));
        } else {
            last = Some((None, v.is_empty()));
        }
    }
    Ok(sections)
}

/// Parses and merges the two files' texts: duplicate sections merge, later properties
/// win, the credentials file wins over the config file, and `[profile default]` in the
/// config file hides `[default]` there.
pub(crate) fn parse(
    config: Option<&str>,
    credentials: Option<&str>,
) -> Result<ProfileSet, ParseError> {
    let mut set = ProfileSet::default();
    if let Some(text) = config {
        let sections = parse_file(text, FileKind::Config)?;
        let has_prefixed_default = sections.iter().any(
            |(s, _)| matches!(s, Section::Profile { name, prefixed: true } if name == "default"),
        );
        for (section, props) in sections {
            let target = match section {
                Section::Profile { name, prefixed } => {
                    if name == "default" && !prefixed && has_prefixed_default {
                        continue;
                    }
                    set.profiles.entry(name).or_default()
                }
                Section::SsoSession(name) => set.sso_sessions.entry(name).or_default(),
                Section::Services(name) => set.services.entry(name).or_default(),
                Section::Ignored => continue,
            };
            target.extend(props);
        }
    }
    if let Some(text) = credentials {
        let mut keys: BTreeMap<String, (bool, bool)> = BTreeMap::new();
        for (section, props) in parse_file(text, FileKind::Credentials)? {
            if let Section::Profile { name, .. } = section {
                let nonempty = |k: &str| props.get(k).is_some_and(|v| !v.trim().is_empty());
                let has = keys.entry(name.clone()).or_default();
                has.0 |= nonempty("aws_access_key_id");
                has.1 |= nonempty("aws_secret_access_key");
                set.profiles.entry(name).or_default().extend(props);
            }
        }
        set.keys_in_credentials_file = keys
            .into_iter()
            .filter(|(_, (id, secret))| *id && *secret)
            .map(|(name, _)| name)
            .collect();
    }
    Ok(set)
}

/// Where the two files are: `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE`, else
/// under `$HOME/.aws/`. Without HOME (a scratch container) there are no default files.
pub(crate) fn locations(env: &Env) -> (Option<PathBuf>, Option<PathBuf>) {
    let home = env.get("HOME").map(PathBuf::from);
    let expand = |p: &str| -> PathBuf {
        match (p.strip_prefix("~/"), &home) {
            (Some(rest), Some(h)) => h.join(rest),
            _ => PathBuf::from(p),
        }
    };
    let config = env
        .get("AWS_CONFIG_FILE")
        .map(expand)
        .or_else(|| home.as_ref().map(|h| h.join(".aws/config")));
    let credentials = env
        .get("AWS_SHARED_CREDENTIALS_FILE")
        .map(expand)
        .or_else(|| home.as_ref().map(|h| h.join(".aws/credentials")));
    (config, credentials)
}

/// Reads and parses both files; a missing file is an empty one.
pub(crate) fn load(env: &Env) -> crate::Result<ProfileSet> {
    let (config, credentials) = locations(env);
    let read = |p: &Option<PathBuf>| -> crate::Result<Option<String>> {
        let Some(p) = p else { return Ok(None) };
        match crate::fsutil::read_file(p, crate::fsutil::cap::CONFIG_FILE) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            // A directory in place of the file: the SDKs skip it. (A FIFO, socket or
            // device is an error that says what it is: botocore would block on it.)
            Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => Ok(None),
            Err(source) => Err(Error::Io {
                what: format!("cannot read {}", p.display()),
                source,
            }),
        }
    };
    let (c, k) = (read(&config)?, read(&credentials)?);
    parse(c.as_deref(), k.as_deref()).map_err(|e| {
        let (which, path) = if e.credentials {
            ("credentials file", &credentials)
        } else {
            ("config file", &config)
        };
        Error::config(
            None,
            format!(
                "cannot parse the AWS {which} {}: {e}",
                path.as_ref()
                    .map_or("-".into(), |p| p.display().to_string()),
            ),
        )
    })
}

/// Who named the selected profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Named {
    /// `--profile`: the environment's keys are then not used (as in aws-cli).
    Flag,
    /// `AWS_PROFILE` or `AWS_DEFAULT_PROFILE`.
    Environment,
    /// Nobody: `default`.
    Default,
}

/// The selected profile: `--profile`, `AWS_PROFILE`, `AWS_DEFAULT_PROFILE`, else
/// `default`; and who named it.
pub(crate) fn selected(flag: Option<&str>, env: &Env) -> (String, Named) {
    if let Some(p) = flag.filter(|p| !p.is_empty()) {
        return (p.trim().to_owned(), Named::Flag);
    }
    match env
        .get("AWS_PROFILE")
        .or_else(|| env.get("AWS_DEFAULT_PROFILE"))
    {
        Some(p) => (p.trim().to_owned(), Named::Environment),
        None => ("default".to_owned(), Named::Default),
    }
}

impl ProfileSet {
    /// Makes `log` hide every secret the files hold (any profile's secret key and
    /// session token): one pasted where it does not belong, or echoed by a server, is
    /// never shown.
    pub(crate) fn hide_secrets(&self, log: &crate::log::Log) {
        const SECRETS: [&str; 3] = [
            "aws_secret_access_key",
            "aws_session_token",
            "aws_security_token",
        ];
        for p in self.profiles.values() {
            for k in SECRETS {
                if let Some(v) = p.get(k) {
                    log.hide(v);
                }
            }
        }
    }

    /// A property of a profile.
    pub(crate) fn get(&self, profile: &str, key: &str) -> Option<&str> {
        self.profiles
            .get(profile)
            .and_then(|p| p.get(key))
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A setting as the SDKs read it: the environment variable `var` (as set; unset
    /// when empty), else the profile's `key` (trimmed); with where it came from, for
    /// messages (`AWS_MAX_ATTEMPTS`, "max_attempts of profile `dev`").
    pub(crate) fn setting(
        &self,
        env: &Env,
        profile: &str,
        var: &str,
        key: &str,
    ) -> Option<(String, String)> {
        self.setting_of(env, profile, &[var], key)
    }

    /// [`ProfileSet::setting`] with several variables, the first set one winning
    /// (`AWS_REGION`, then `AWS_DEFAULT_REGION`).
    pub(crate) fn setting_of(
        &self,
        env: &Env,
        profile: &str,
        vars: &[&str],
        key: &str,
    ) -> Option<(String, String)> {
        match vars.iter().find_map(|v| env.get(v).map(|value| (value, v))) {
            Some((value, var)) => Some((value.to_owned(), (*var).to_owned())),
            None => self
                .get(profile, key)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .map(|v| (v.to_owned(), format!("{key} of profile `{profile}`"))),
        }
    }

    /// A property of the profile's `services` section for `service` (e.g. the STS
    /// `endpoint_url`), written as a sub-property.
    pub(crate) fn service_setting(
        &self,
        profile: &str,
        service: &str,
        key: &str,
    ) -> Option<String> {
        let name = self.get(profile, "services")?;
        let block = self.services.get(name)?.get(service)?;
        block.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().to_owned())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_sub_properties() {
        let set = parse(
            Some("[profile dev]\nservices = local\n[services local]\nsts =\n  endpoint_url = http://127.0.0.1:5000\n"),
            None,
        )
        .unwrap();
        assert_eq!(
            set.service_setting("dev", "sts", "endpoint_url").as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(set.service_setting("dev", "eks", "endpoint_url"), None);
    }

    #[test]
    fn debug_shows_names_not_secrets() {
        let set = parse(None, Some("[dev]\naws_secret_access_key = SUPERSECRET\n")).unwrap();
        let d = format!("{set:?}");
        assert!(d.contains("dev") && !d.contains("SUPERSECRET"), "{d}");
    }

    #[test]
    fn selection() {
        let env = Env::from_pairs([("AWS_PROFILE", "dev")]);
        assert_eq!(selected(None, &env), ("dev".into(), Named::Environment));
        assert_eq!(selected(Some("prod"), &env), ("prod".into(), Named::Flag));
        assert_eq!(
            selected(None, &Env::default()),
            ("default".into(), Named::Default)
        );
    }
}
