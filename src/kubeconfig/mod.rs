//! Kubeconfigs. Every one eks-token writes is made of the same entries: a cluster, a
//! user that gets its tokens (by running a program, or reading a token file a sidecar
//! keeps fresh), a context. They are written as a document of their own (JSON), or
//! merged into a user's file in aws-cli's YAML layout ([`File`], taking client-go's
//! lock), every other entry and field kept as kubectl reads it. Entries keep the order
//! of their keys (aws-cli's, where it writes them).

mod file;
mod view;

use std::path::{Path, PathBuf};
use std::time::Instant;

use yaml_rust2::yaml::Hash;
use yaml_rust2::Yaml;

use crate::yaml::{self, documents, key, map, string, Refused, Typing};

pub use file::{candidates, File, Lock, LockRelease};
pub use view::{Config, ContextView, ExecView};

/// The exec plugin apiVersion of the users eks-token writes (aws-cli's).
pub const EXEC_API_VERSION: &str = "client.authentication.k8s.io/v1beta1";

/// The name of the cluster extension kubectl hands an exec plugin as
/// `spec.cluster.config` when the user's exec sets `provideClusterInfo: true`.
pub const EXEC_EXTENSION: &str = "client.authentication.k8s.io/exec";

/// The largest kubeconfig read (real ones are a few KiB, a few MiB with hundreds of
/// clusters); none larger is written.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// A cluster entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// Its name in the kubeconfig.
    pub name: String,
    /// The API server URL.
    pub server: String,
    /// The cluster's CA: base64 of its PEM.
    pub ca_data: String,
    /// `proxy-url`.
    pub proxy_url: Option<String>,
    /// The configuration an exec plugin gets with `provideClusterInfo: true` (written as
    /// the cluster's `client.authentication.k8s.io/exec` extension).
    pub exec_config: Option<serde_json::Value>,
}

/// A user entry: its name and how it gets its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its name in the kubeconfig.
    pub name: String,
    /// How it gets its credentials.
    pub auth: Auth,
}

/// How a user gets its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// Runs a program (an exec plugin) for each token.
    Exec(Exec),
    /// Reads a token file, which client-go rereads (a sidecar keeps it fresh).
    TokenFile(PathBuf),
}

/// How a user's exec plugin runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Exec {
    /// The program.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables set for it (`AWS_PROFILE`).
    pub env: Vec<(String, String)>,
    /// `interactiveMode`, when written (`IfAvailable` for a plugin that may prompt).
    pub interactive_mode: Option<String>,
    /// `provideClusterInfo`, when written.
    pub provide_cluster_info: Option<bool>,
}

/// A context entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// Its name (what `kubectl --context` names).
    pub name: String,
    /// The cluster entry's name.
    pub cluster: String,
    /// The user entry's name.
    pub user: String,
}

impl Cluster {
    pub(crate) fn yaml(&self) -> Yaml {
        let mut cluster = vec![
            ("certificate-authority-data", string(&self.ca_data)),
            ("server", string(&self.server)),
        ];
        if let Some(p) = &self.proxy_url {
            cluster.push(("proxy-url", string(p)));
        }
        if let Some(config) = &self.exec_config {
            cluster.push((
                "extensions",
                Yaml::Array(vec![map(vec![
                    ("extension", from_json(config)),
                    ("name", string(EXEC_EXTENSION)),
                ])]),
            ));
        }
        map(vec![
            ("cluster", map(cluster)),
            ("name", string(&self.name)),
        ])
    }
}

impl User {
    pub(crate) fn yaml(&self) -> Yaml {
        let user = match &self.auth {
            Auth::Exec(e) => {
                let mut exec = vec![
                    ("apiVersion", string(EXEC_API_VERSION)),
                    (
                        "args",
                        Yaml::Array(e.args.iter().map(|a| string(a)).collect()),
                    ),
                    ("command", string(&e.command)),
                ];
                if !e.env.is_empty() {
                    let vars = e
                        .env
                        .iter()
                        .map(|(k, v)| map(vec![("name", string(k)), ("value", string(v))]))
                        .collect();
                    exec.push(("env", Yaml::Array(vars)));
                }
                if let Some(mode) = &e.interactive_mode {
                    exec.push(("interactiveMode", string(mode)));
                }
                if let Some(p) = e.provide_cluster_info {
                    exec.push(("provideClusterInfo", Yaml::Boolean(p)));
                }
                map(vec![("exec", map(exec))])
            }
            Auth::TokenFile(path) => map(vec![("tokenFile", string(&path.display().to_string()))]),
        };
        map(vec![("name", string(&self.name)), ("user", user)])
    }
}

impl Context {
    pub(crate) fn yaml(&self) -> Yaml {
        map(vec![
            (
                "context",
                map(vec![
                    ("cluster", string(&self.cluster)),
                    ("user", string(&self.user)),
                ]),
            ),
            ("name", string(&self.name)),
        ])
    }
}

/// A JSON value as YAML (an extension's configuration).
fn from_json(v: &serde_json::Value) -> Yaml {
    use serde_json::Value;
    match v {
        Value::Null => Yaml::Null,
        Value::Bool(b) => Yaml::Boolean(*b),
        Value::Number(n) => n
            .as_i64()
            .map_or_else(|| Yaml::Real(n.to_string()), Yaml::Integer),
        Value::String(s) => string(s),
        Value::Array(a) => Yaml::Array(a.iter().map(from_json).collect()),
        Value::Object(o) => Yaml::Hash(o.iter().map(|(k, v)| (key(k), from_json(v))).collect()),
    }
}

/// A whole kubeconfig of these entries, `current` its current context, as JSON (keys
/// sorted, two-space indent).
pub fn json(clusters: &[Cluster], users: &[User], contexts: &[Context], current: &str) -> String {
    let doc = map(vec![
        ("apiVersion", string("v1")),
        ("kind", string("Config")),
        (
            "clusters",
            Yaml::Array(clusters.iter().map(Cluster::yaml).collect()),
        ),
        ("users", Yaml::Array(users.iter().map(User::yaml).collect())),
        (
            "contexts",
            Yaml::Array(contexts.iter().map(Context::yaml).collect()),
        ),
        ("current-context", string(current)),
    ]);
    serde_json::to_string_pretty(&yaml::to_json(&doc)).expect("plain JSON") + "\n"
}

/// Entries as aws-cli prints them (`eks update-kubeconfig --verbose`): each in its YAML
/// layout, a blank line after each.
pub fn entries_text(cluster: &Cluster, user: &User, context: &Context) -> String {
    [context.yaml(), user.yaml(), cluster.yaml()]
        .iter()
        .map(|e| yaml::dump(e) + "\n")
        .collect()
}

/// A new kubeconfig's content, as aws-cli starts one.
pub(crate) fn skeleton() -> Hash {
    let Yaml::Hash(h) = map(vec![
        ("apiVersion", string("v1")),
        ("clusters", Yaml::Array(Vec::new())),
        ("contexts", Yaml::Array(Vec::new())),
        ("current-context", string("")),
        ("kind", string("Config")),
        ("preferences", Yaml::Hash(Hash::new())),
        ("users", Yaml::Array(Vec::new())),
    ]) else {
        unreachable!("map makes a hash")
    };
    h
}

/// Reads a kubeconfig's text: one YAML document that is a mapping whose lists are lists
/// of mappings and whose `apiVersion`, `kind`, `current-context` are strings (aws-cli's
/// checks), within the bounds of [`yaml::documents`]. An empty text is a new kubeconfig.
/// Plain scalars are read as kubectl reads them. The error says why, for "the
/// kubeconfig ... cannot be used: <why>".
pub(crate) fn parse(text: &str, deadline: Instant) -> Result<Hash, Refused> {
    let docs = documents(text, deadline, Typing::Kubectl)?;
    let content = match docs.as_slice() {
        [] | [Yaml::Null] => skeleton(),
        [Yaml::Hash(h)] => h.clone(),
        [_] => return Err(Refused::NotAMapping),
        _ => return Err(Refused::SeveralDocuments),
    };
    for (field, want_list) in [
        ("clusters", true),
        ("contexts", true),
        ("users", true),
        ("preferences", false),
    ] {
        match (content.get(&key(field)), want_list) {
            (None | Some(Yaml::Null), _) => {}
            (Some(Yaml::Array(items)), true) => {
                if items.iter().any(|i| !matches!(i, Yaml::Hash(_))) {
                    return Err(Refused::Entry(field));
                }
            }
            (Some(Yaml::Hash(_)), false) => {}
            (Some(_), true) => return Err(Refused::Field(field, "list")),
            (Some(_), false) => return Err(Refused::Field(field, "mapping")),
        }
    }
    for field in ["apiVersion", "kind", "current-context"] {
        if !matches!(
            content.get(&key(field)),
            None | Some(Yaml::Null | Yaml::String(_))
        ) {
            return Err(Refused::Field(field, "string"));
        }
    }
    Ok(content)
}

/// Whether the list `field` has an entry named `name`.
pub(crate) fn has_entry(content: &Hash, field: &str, name: &str) -> bool {
    match content.get(&key(field)) {
        Some(Yaml::Array(items)) => items.iter().any(|i| i["name"].as_str() == Some(name)),
        _ => false,
    }
}

/// Sets `field` to `value` where it stands (a new field goes last; the map's own
/// `insert` and `entry` would move an existing one to the end); with `replace` false, an
/// existing value is kept.
pub(crate) fn set(content: &mut Hash, field: &str, value: Yaml, replace: bool) {
    match content.get_mut(&key(field)) {
        Some(old) => {
            if replace {
                *old = value;
            }
        }
        None => {
            content.insert(key(field), value);
        }
    }
}

/// Adds `entry` to the list `field`, replacing an entry of the same name; whether one
/// was replaced.
pub(crate) fn insert(content: &mut Hash, field: &str, entry: Yaml) -> bool {
    set(content, field, Yaml::Null, false);
    let list = content.get_mut(&key(field)).expect("set above");
    if !matches!(list, Yaml::Array(_)) {
        *list = Yaml::Array(Vec::new());
    }
    let Yaml::Array(items) = list else {
        unreachable!("made a list above")
    };
    let name = entry["name"].as_str().map(str::to_owned);
    match items
        .iter_mut()
        .find(|i| name.is_some() && i["name"].as_str() == name.as_deref())
    {
        Some(old) => {
            *old = entry;
            true
        }
        None => {
            items.push(entry);
            false
        }
    }
}

/// The text of a merged kubeconfig, checked to read back as exactly `content` (so a
/// value the writer cannot carry, such as a string it would not quote, is an error, not
/// a changed kubeconfig): aws-cli's layout, or where that does not cover the content
/// (or would not read back), yaml-rust2's; never larger than a kubeconfig read
/// ([`MAX_FILE_BYTES`]), which the next run would refuse.
pub(crate) fn write(content: &Hash, deadline: Instant) -> Result<String, Refused> {
    let y = Yaml::Hash(content.clone());
    let mut why = Refused::NotWrittenBack;
    for text in yaml::texts(&y) {
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(Refused::TooLarge(MAX_FILE_BYTES));
        }
        match parse(&text, deadline) {
            Ok(back) if back == *content => return Ok(text),
            Ok(_) => why = Refused::NotWrittenBack,
            Err(e) => why = Refused::Unreadable(Box::new(e)),
        }
    }
    Err(why)
}

/// The path the kernel reaches for `p`, whether or not it exists yet: its deepest
/// existing directory canonical (links and `..` resolved as the kernel resolves them),
/// then the parts below it as written (nothing exists there, so no link: `..` is the
/// part before). For a file this program writes and a kubeconfig then names.
pub fn resolved(p: &Path) -> Option<PathBuf> {
    use std::path::Component;
    let abs = std::path::absolute(p).ok()?;
    let parts: Vec<_> = abs.components().collect();
    let (mut real, at) = (0..parts.len()).rev().find_map(|n| {
        let dir: PathBuf = parts[..n].iter().collect();
        Some((dir.canonicalize().ok()?, n))
    })?;
    for part in &parts[at..] {
        match part {
            Component::ParentDir => _ = real.pop(),
            Component::CurDir => {}
            other => real.push(other),
        }
    }
    Some(real)
}

/// `p` made absolute from the current directory, `.` and `..` folded by name as
/// Python's `os.path.abspath` does (links are not followed).
pub fn absolute(p: &Path) -> PathBuf {
    use std::path::Component;
    let joined = match std::env::current_dir() {
        Ok(cwd) if p.is_relative() => cwd.join(p),
        _ => p.to_path_buf(),
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{documents, dump, key, map, resolve_plain, string, Typing};

    fn later() -> Instant {
        Instant::now() + std::time::Duration::from_secs(60)
    }

    #[test]
    fn what_cannot_be_written_back_as_it_is_is_refused() {
        // Found by the kubeconfig fuzz target: the writer puts a key of more than 1024
        // characters (read from an explicit `? key` entry) where YAML allows at most
        // 1024, so the file would not read back.
        let long = "k".repeat(2000);
        let content = parse(
            &format!("clusters: []\nextra:\n  ? \"{long}\"\n  : 1\n"),
            later(),
        )
        .unwrap();
        let err = write(&content, later()).unwrap_err();
        assert!(
            err.to_string()
                .contains("would not be written back readable"),
            "{err}"
        );
        // Ordinary content is written back as it is, quoting what needs quotes.
        let content = parse(
            "clusters:\n- name: \"quoted: yes\"\n  cluster: {server: \"null\", a: \"~\", b: \"1.0\", c: \"true\", d: \"x\\u000fy\"}\n",
            later(),
        )
        .unwrap();
        let text = write(&content, later()).unwrap();
        assert_eq!(parse(&text, later()).unwrap(), content, "{text}");
    }

    #[test]
    fn plain_scalars_read_as_kubectl_reads_them() {
        // Each as `kubectl config view -o json` (kubectl 1.32) showed it in an extension.
        let int = Yaml::Integer;
        let real = |s: &str| Yaml::Real(s.into());
        let string = |s: &str| Yaml::String(s.into());
        for (text, want) in [
            ("on", Yaml::Boolean(true)),
            ("yes", Yaml::Boolean(true)),
            ("y", Yaml::Boolean(true)),
            ("no", Yaml::Boolean(false)),
            ("OFF", Yaml::Boolean(false)),
            ("~", Yaml::Null),
            ("1e3", real("1e3")),
            ("0755", int(493)),
            ("0x1F", int(31)),
            ("0o17", int(15)),
            ("1_000", int(1000)),
            ("-0b101", int(-5)),
            ("+12", int(12)),
            ("+0x1F", int(31)),
            ("00", int(0)),
            ("09", real("09")),
            (".5", real(".5")),
            ("-9223372036854775808", int(i64::MIN)),
            ("18446744073709551615", real("18446744073709551615")),
            ("99999999999999999999", real("99999999999999999999")),
            ("-99999999999999999999", real("-99999999999999999999")),
            ("1e999", string("1e999")),
            ("2001-12-14", string("2001-12-14")),
            ("1:20", string("1:20")),
            ("inf", string("inf")),
            ("us-east-1", string("us-east-1")),
            ("oN", string("oN")),
            (".", string(".")),
            ("-", string("-")),
        ] {
            assert_eq!(resolve_plain(text), want, "{text:?}");
        }
        // Quoted, the same texts are strings; as keys, plain ones are typed too.
        let content = parse("clusters: []\nx: {a: 'on', n: 1, \"0755\": 2}\n", later()).unwrap();
        let x = &content[&key("x")];
        assert_eq!(x["a"].as_str(), Some("on"));
        assert!(x.as_hash().unwrap().contains_key(&Yaml::Boolean(false)));
        assert_eq!(x["0755"].as_i64(), Some(2));
    }

    #[test]
    fn tags_merge_keys_and_repeated_keys_read_as_kubectl_reads_them() {
        let text = "clusters: []\n\
                    base: &b {server: https://b, insecure-skip-tls-verify: true, x: 1}\n\
                    merged: {<<: *b, x: 2}\n\
                    listed: {<<: [{a: 1}, {a: 2, c: 3}], b: 4}\n\
                    literal: {'<<': 5}\n\
                    tagged: [!!int 12, !!bool yes, !!float 1, !!null '', !!str 12, !!binary aGVsbG8=, !!int '0x1F']\n\
                    twice: {yes: 1, on: 2}\n";
        let c = parse(text, later()).unwrap();
        let merged = &c[&key("merged")];
        assert_eq!(merged["server"].as_str(), Some("https://b"));
        assert_eq!(merged["insecure-skip-tls-verify"].as_bool(), Some(true));
        assert_eq!(merged["x"].as_i64(), Some(2), "a key after the merge wins");
        let listed = &c[&key("listed")];
        assert_eq!(listed["a"].as_i64(), Some(1), "the first mapping wins");
        assert_eq!(
            (listed["c"].as_i64(), listed["b"].as_i64()),
            (Some(3), Some(4))
        );
        assert_eq!(
            c[&key("literal")]["<<"].as_i64(),
            Some(5),
            "quoted: a plain key"
        );
        let tagged = c[&key("tagged")].as_vec().unwrap();
        assert_eq!(tagged[0], Yaml::Integer(12));
        assert_eq!(tagged[1], Yaml::Boolean(true));
        assert_eq!(tagged[2], Yaml::Real("1.0".into()));
        assert_eq!(tagged[3], Yaml::Null);
        assert_eq!(tagged[4], Yaml::String("12".into()));
        assert_eq!(tagged[5], Yaml::String("hello".into()));
        assert_eq!(tagged[6], Yaml::Integer(31));
        let twice = c[&key("twice")].as_hash().unwrap();
        assert_eq!(twice.len(), 1);
        assert_eq!(
            twice[&Yaml::Boolean(true)],
            Yaml::Integer(2),
            "the last value"
        );
        // Written back, the same content; a tag that does not fit is refused.
        assert_eq!(parse(&write(&c, later()).unwrap(), later()).unwrap(), c);
        let e = parse("clusters: []\nx: !!int abc\n", later()).unwrap_err();
        assert!(e.to_string().contains("is not a int"), "{e}");
        let e = parse("clusters: []\nx: {<<: 5}\n", later()).unwrap_err();
        assert!(e.to_string().contains("merge key"), "{e}");
    }

    #[test]
    fn a_deadline_that_passed_ends_the_reading() {
        let big = "clusters:\n".to_owned() + &"- {name: a, cluster: {server: s}}\n".repeat(3000);
        let e = parse(&big, Instant::now()).unwrap_err();
        assert!(e.to_string().contains("deadline"), "{e}");
    }

    #[test]
    fn typed_scalars_are_written_back_as_kubectl_reads_them() {
        let text = "clusters: []\nx: {a: on, b: 0755, c: 1e3, d: ~, e: y, f: \"on\", g: \"1e3\"}\n";
        let content = parse(text, later()).unwrap();
        let out = write(&content, later()).unwrap();
        assert!(out.to_string().contains("a: true\n"), "{out}");
        assert!(out.to_string().contains("b: 493\n"), "{out}");
        assert!(out.to_string().contains("c: 1e3\n"), "{out}");
        assert!(out.to_string().contains("d: null\n"), "{out}");
        assert!(out.to_string().contains("e: true\n"), "{out}");
        assert!(out.to_string().contains("f: 'on'\n"), "{out}");
        assert!(out.to_string().contains("g: '1e3'\n"), "{out}");
        assert_eq!(parse(&out, later()).unwrap(), content);
    }

    #[test]
    fn merging_keeps_every_other_entry_and_replaces_by_name() {
        let docs = documents(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster: {server: 'https://other', extensions: [{name: x, extension: {a: 1}}]}\n\
             users:\n- name: alice\n  user: {token: secret-token}\ncontexts:\n- name: other\n  context: {cluster: other, user: alice, namespace: team}\n\
             current-context: other\npreferences: {colors: true}\n",
            later(),
            Typing::Kubectl,
        )
        .unwrap();
        let Yaml::Hash(mut content) = docs[0].clone() else {
            panic!()
        };
        let entry = |name: &str, server: &str| {
            map(vec![
                ("cluster", map(vec![("server", string(server))])),
                ("name", string(name)),
            ])
        };
        assert!(!insert(&mut content, "clusters", entry("new", "https://a")));
        assert!(insert(&mut content, "clusters", entry("new", "https://b")));
        let text = dump(&Yaml::Hash(content));
        let back = &documents(&text, later(), Typing::Kubectl).unwrap()[0];
        assert_eq!(back["clusters"].as_vec().unwrap().len(), 2);
        assert_eq!(
            back["clusters"][1]["cluster"]["server"].as_str(),
            Some("https://b")
        );
        assert_eq!(
            back["users"][0]["user"]["token"].as_str(),
            Some("secret-token")
        );
        assert_eq!(
            back["contexts"][0]["context"]["namespace"].as_str(),
            Some("team")
        );
        assert_eq!(back["preferences"]["colors"].as_bool(), Some(true));
        assert_eq!(
            back["clusters"][0]["cluster"]["extensions"][0]["extension"]["a"].as_i64(),
            Some(1)
        );
    }
}
