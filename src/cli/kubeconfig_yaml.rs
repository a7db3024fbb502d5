//! The YAML of a kubeconfig, without I/O: reading it within bounds and checking its
//! shape (as aws-cli does), merging entries by name, writing it back. Included by the
//! `kubeconfig` fuzz target, which checks that whatever it accepts and merges reads
//! back.

#[path = "pyyaml.rs"]
mod pyyaml;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlEmitter, YamlLoader};

/// The deepest nesting of collections accepted (kubeconfigs nest about six levels; the
/// writer recurses once per level).
const MAX_DEPTH: usize = 100;
/// The most nodes a kubeconfig may have once its aliases are expanded: loading expands
/// each alias into a copy, so ten aliases of ten aliases of ... would take exponential
/// memory ("billion laughs").
const MAX_NODES: usize = 1 << 20;

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
/// The error says why, for "the kubeconfig ... cannot be used: <why>".
pub(crate) fn parse(text: &str) -> Result<Hash, String> {
    check_bounds(text)?;
    let docs = YamlLoader::load_from_str(text).map_err(|e| format!("it is not YAML ({e})"))?;
    let content = match docs.as_slice() {
        [] | [Yaml::Null] => skeleton(),
        [Yaml::Hash(h)] => h.clone(),
        [_] => return Err("it is not a mapping of kubeconfig fields".into()),
        _ => return Err("it holds more than one YAML document".into()),
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
                    return Err(format!("an entry of `{field}` is not a mapping"));
                }
            }
            (Some(Yaml::Hash(_)), false) => {}
            (Some(_), true) => return Err(format!("`{field}` is not a list")),
            (Some(_), false) => return Err(format!("`{field}` is not a mapping")),
        }
    }
    for field in ["apiVersion", "kind", "current-context"] {
        if !matches!(
            content.get(&key(field)),
            None | Some(Yaml::Null | Yaml::String(_))
        ) {
            return Err(format!("`{field}` is not a string"));
        }
    }
    Ok(content)
}

/// Checks, in one pass over the parser's events and in memory linear in the text, that
/// loading `text` stays within [`MAX_DEPTH`] and [`MAX_NODES`] (aliases counted at the
/// size of what they expand to).
fn check_bounds(text: &str) -> Result<(), String> {
    let mut parser = Parser::new_from_str(text);
    // Each open collection: its anchor id (0: none) and the node count at its start.
    let mut open: Vec<(usize, usize)> = Vec::new();
    // The expanded size of each anchored node.
    let mut sizes: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    let mut nodes: usize = 0;
    loop {
        let (event, _) = parser
            .next_token()
            .map_err(|e| format!("it is not YAML ({e})"))?;
        match event {
            Event::StreamEnd => return Ok(()),
            Event::Scalar(_, _, anchor, _) => {
                nodes += 1;
                if anchor != 0 {
                    sizes.insert(anchor, 1);
                }
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                nodes += 1;
                open.push((anchor, nodes));
                if open.len() > MAX_DEPTH {
                    return Err(format!("it nests deeper than {MAX_DEPTH} levels"));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((anchor, start)) = open.pop() {
                    if anchor != 0 {
                        sizes.insert(anchor, nodes - start + 1);
                    }
                }
            }
            Event::Alias(id) => {
                nodes = nodes.saturating_add(sizes.get(&id).copied().unwrap_or(1));
            }
            _ => {}
        }
        if nodes > MAX_NODES {
            return Err(format!(
                "it has more than {MAX_NODES} nodes with its aliases expanded"
            ));
        }
    }
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
pub(crate) fn write(content: &Hash) -> Result<String, String> {
    let y = Yaml::Hash(content.clone());
    let mut why = String::new();
    for text in [pyyaml::dump(&y), Some(emit(&y))].into_iter().flatten() {
        match parse(&text) {
            Ok(back) if back == *content => return Ok(text),
            Ok(_) => why = "it holds a value that would not be written back as it is".into(),
            Err(e) => why = format!("it would not be written back readable: {e}"),
        }
    }
    Err(why)
}

/// The YAML text of `y` as aws-cli writes it where [`pyyaml`] covers it, else
/// yaml-rust2's.
pub(crate) fn dump(y: &Yaml) -> String {
    pyyaml::dump(y).unwrap_or_else(|| emit(y))
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
    use super::*;

    #[test]
    fn what_cannot_be_written_back_as_it_is_is_refused() {
        // Found by the kubeconfig fuzz target: the writer puts a key of more than 1024
        // characters (read from an explicit `? key` entry) where YAML allows at most
        // 1024, so the file would not read back.
        let long = "k".repeat(2000);
        let content = parse(&format!("clusters: []\nextra:\n  ? \"{long}\"\n  : 1\n")).unwrap();
        let err = write(&content).unwrap_err();
        assert!(err.contains("would not be written back readable"), "{err}");
        // Ordinary content is written back as it is, quoting what needs quotes.
        let content = parse(
            "clusters:\n- name: \"quoted: yes\"\n  cluster: {server: \"null\", a: \"~\", b: \"1.0\", c: \"true\", d: \"x\\u000fy\"}\n",
        )
        .unwrap();
        let text = write(&content).unwrap();
        assert_eq!(parse(&text).unwrap(), content, "{text}");
    }

    #[test]
    fn merging_keeps_every_other_entry_and_replaces_by_name() {
        let docs = YamlLoader::load_from_str(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster: {server: 'https://other', extensions: [{name: x, extension: {a: 1}}]}\n\
             users:\n- name: alice\n  user: {token: secret-token}\ncontexts:\n- name: other\n  context: {cluster: other, user: alice, namespace: team}\n\
             current-context: other\npreferences: {colors: true}\n",
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
        let back = &YamlLoader::load_from_str(&text).unwrap()[0];
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
