//! The YAML of a kubeconfig, without I/O: reading it within bounds and as kubectl reads
//! it, checking its shape (as aws-cli does), merging entries by name, writing it back
//! (in aws-cli's layout, [`super::pyyaml`]). The `kubeconfig` fuzz target checks that
//! whatever it accepts and merges reads back.

use std::time::Instant;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlEmitter};

use super::scalars::typed_scalar;

/// The deepest nesting of collections accepted (kubeconfigs nest about six levels; the
/// writer recurses once per level).
const MAX_DEPTH: usize = 100;
/// The most nodes a kubeconfig may have once its aliases are expanded: loading expands
/// each alias into a copy, so ten aliases of ten aliases of ... would take exponential
/// memory ("billion laughs"). A kubeconfig of 500 clusters has about 12,000; this allows
/// some 5,000 clusters and bounds memory (about 100 MB) and time.
const MAX_NODES: usize = 1 << 17;

/// Why a kubeconfig's text is refused (the end of "the kubeconfig X cannot be used:
/// ...").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Not YAML: the parser's words.
    NotYaml(String),
    TooDeep,
    TooManyNodes,
    Deadline,
    NotAMapping,
    SeveralDocuments,
    /// A top-level field of the wrong kind: its name and what it should be.
    Field(&'static str, &'static str),
    /// An entry of a list field that is not a mapping.
    Entry(&'static str),
    /// A tagged scalar of another type (`!!int abc`).
    Tag(String, String),
    Binary(String),
    Merge,
    /// The merged text would not read back as what was merged.
    NotWrittenBack,
    /// The merged text would not read back at all.
    Unreadable(Box<Refused>),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::NotYaml(e) => write!(f, "it is not YAML ({e})"),
            Refused::TooDeep => write!(f, "it nests deeper than {MAX_DEPTH} levels"),
            Refused::TooManyNodes => write!(
                f,
                "it has more than {MAX_NODES} nodes with its aliases expanded"
            ),
            Refused::Deadline => {
                f.write_str("it is too large to read within the deadline (--timeout)")
            }
            Refused::NotAMapping => f.write_str("it is not a mapping of kubeconfig fields"),
            Refused::SeveralDocuments => f.write_str("it holds more than one YAML document"),
            Refused::Field(name, kind) => write!(f, "`{name}` is not a {kind}"),
            Refused::Entry(field) => write!(f, "an entry of `{field}` is not a mapping"),
            Refused::Tag(t, value) => write!(f, "`!!{t} {value}` is not a {t}"),
            Refused::Binary(value) => write!(f, "`!!binary` {value:?} is not base64"),
            Refused::Merge => f.write_str("a merge key (<<) takes a mapping or a list of mappings"),
            Refused::NotWrittenBack => {
                f.write_str("it holds a value that would not be written back as it is")
            }
            Refused::Unreadable(e) => write!(f, "it would not be written back readable: {e}"),
        }
    }
}

pub(crate) fn key(k: &str) -> Yaml {
    Yaml::String(k.to_owned())
}

pub(crate) fn map(entries: Vec<(&str, Yaml)>) -> Yaml {
    Yaml::Hash(entries.into_iter().map(|(k, v)| (key(k), v)).collect())
}

pub(crate) fn string(s: &str) -> Yaml {
    Yaml::String(s.to_owned())
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
/// checks), within [`MAX_DEPTH`] and [`MAX_NODES`]. An empty text is a new kubeconfig.
/// Plain scalars are read as kubectl reads them ([`resolve_plain`]). The error says why,
/// for "the kubeconfig ... cannot be used: <why>".
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

/// How plain scalars are read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Typing {
    /// As kubectl (go-yaml v2) types them: `yes` is true, `0755` is 493.
    Kubectl,
    /// As their text (go-yaml v2 decoding into a string: `012345678901` stays that).
    Text,
}

/// An open collection while loading: the node, its anchor, the node count at its start;
/// for a mapping, the key waiting for its value and whether that key is a merge key
/// (`<<`).
struct Open {
    node: Yaml,
    anchor: usize,
    start: usize,
    key: Option<Yaml>,
    merge: bool,
}

/// The documents of `text` as kubectl (client-go's go-yaml v2) reads them: plain scalars
/// typed as `typing` says ([`resolve_plain`] for kubectl's types), explicit tags (`!!int`, `!!str`, `!!binary`, ...)
/// applied, merge keys (`<<: *base`) expanded, a key given twice taking its last value.
/// Loaded in one pass over the parser's events, in memory linear in the text: at most
/// [`MAX_DEPTH`] levels and [`MAX_NODES`] nodes, aliases counted at the size of what
/// they expand to (each alias is loaded as a copy, so ten aliases of ten aliases of ...
/// would take exponential memory, "billion laughs"); the deadline is checked as it goes.
pub(crate) fn documents(
    text: &str,
    deadline: Instant,
    typing: Typing,
) -> Result<Vec<Yaml>, Refused> {
    let not_yaml = |e: &dyn std::fmt::Display| Refused::NotYaml(e.to_string());
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    // Each anchored node and its expanded size.
    let mut anchors: std::collections::HashMap<usize, (Yaml, usize)> =
        std::collections::HashMap::new();
    let mut nodes: usize = 0;
    for event_count in 0usize.. {
        if event_count % 4096 == 4095 && Instant::now() >= deadline {
            return Err(Refused::Deadline);
        }
        let (event, _) = parser.next_token().map_err(|e| not_yaml(&e))?;
        let mut merge_key = false;
        let (node, anchor, size) = match event {
            Event::StreamEnd => return Ok(docs),
            Event::Scalar(value, style, anchor, tag) => {
                nodes += 1;
                merge_key = style == yaml_rust2::scanner::TScalarStyle::Plain
                    && tag.is_none()
                    && value == "<<";
                let node = if typing == Typing::Text && tag.is_none() {
                    Yaml::String(value)
                } else {
                    typed_scalar(value, style, tag)?
                };
                (node, anchor, 1)
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                nodes += 1;
                let (node, key) = match event {
                    Event::SequenceStart(..) => (Yaml::Array(Vec::new()), None),
                    _ => (Yaml::Hash(Hash::new()), Some(Yaml::BadValue)),
                };
                open.push(Open {
                    node,
                    anchor,
                    start: nodes,
                    key,
                    merge: false,
                });
                if open.len() > MAX_DEPTH {
                    return Err(Refused::TooDeep);
                }
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let o = open.pop().ok_or(Refused::NotYaml("unbalanced".into()))?;
                (o.node, o.anchor, nodes - o.start + 1)
            }
            Event::Alias(id) => {
                let (node, size) = anchors.get(&id).cloned().unwrap_or((Yaml::BadValue, 1));
                nodes = nodes.saturating_add(size);
                (node, 0, size)
            }
            _ => continue,
        };
        if nodes > MAX_NODES {
            return Err(Refused::TooManyNodes);
        }
        if anchor != 0 {
            anchors.insert(anchor, (node.clone(), size));
        }
        let Some(parent) = open.last_mut() else {
            docs.push(node);
            continue;
        };
        match (&mut parent.node, &mut parent.key) {
            (Yaml::Array(items), _) => items.push(node),
            (Yaml::Hash(h), Some(waiting)) => {
                if matches!(waiting, Yaml::BadValue) {
                    *waiting = node;
                    parent.merge = merge_key;
                } else {
                    let k = std::mem::replace(waiting, Yaml::BadValue);
                    if std::mem::take(&mut parent.merge) {
                        merge(h, node)?;
                    } else {
                        // A key given twice: the last value, as kubectl reads it.
                        h.insert(k, node);
                    }
                }
            }
            _ => unreachable!("only collections are open"),
        }
    }
    unreachable!("the loop ends at the stream's end")
}

/// A merge key's value merged into the mapping `h` as go-yaml v2 does: a mapping's
/// entries, or those of a list of mappings (earlier ones take precedence), set over
/// what is there; keys given after the merge key set over them.
fn merge(h: &mut Hash, value: Yaml) -> Result<(), Refused> {
    let mappings = match value {
        Yaml::Hash(m) => vec![m],
        Yaml::Array(items) => items
            .into_iter()
            .rev()
            .map(|i| match i {
                Yaml::Hash(m) => Ok(m),
                _ => Err(Refused::Merge),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(Refused::Merge),
    };
    for m in mappings {
        for (k, v) in m {
            h.insert(k, v);
        }
    }
    Ok(())
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
/// (or would not read back), yaml-rust2's.
pub(crate) fn write(content: &Hash, deadline: Instant) -> Result<String, Refused> {
    let y = Yaml::Hash(content.clone());
    let mut why = Refused::NotWrittenBack;
    for text in [super::pyyaml::dump(&y), Some(emit(&y))]
        .into_iter()
        .flatten()
    {
        match parse(&text, deadline) {
            Ok(back) if back == *content => return Ok(text),
            Ok(_) => why = Refused::NotWrittenBack,
            Err(e) => why = Refused::Unreadable(Box::new(e)),
        }
    }
    Err(why)
}

/// The YAML text of `y` as aws-cli writes it where [`pyyaml`] covers it, else
/// yaml-rust2's.
pub(crate) fn dump(y: &Yaml) -> String {
    super::pyyaml::dump(y).unwrap_or_else(|| emit(y))
}

/// `y` as JSON (for the kubeconfigs eks-token prints as JSON).
pub(crate) fn to_json(y: &Yaml) -> serde_json::Value {
    use serde_json::Value;
    match y {
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        other => to_json(other).to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Yaml::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Real(r) => r.parse::<f64>().map_or(Value::Null, Value::from),
        _ => Value::Null,
    }
}

/// yaml-rust2's YAML text of `y`, without the document marker.
fn emit(y: &Yaml) -> String {
    let mut out = String::new();
    YamlEmitter::new(&mut out)
        .dump(y)
        .expect("writing to a String");
    let body = out.strip_prefix("---\n").unwrap_or(&out);
    format!("{}\n", body.trim_end_matches('\n'))
}

#[cfg(test)]
mod tests {
    use super::super::scalars::resolve_plain;
    use super::*;

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
