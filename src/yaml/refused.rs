//! What a YAML text may be, and why one is refused.

/// The deepest nesting of collections accepted (kubeconfigs nest about six levels; the
/// writer recurses once per level).
pub(crate) const MAX_DEPTH: usize = 100;
/// The most nodes a text may have once its aliases are expanded: loading expands each
/// alias into a copy, so ten aliases of ten aliases of ... would take exponential
/// memory ("billion laughs"). A kubeconfig of 500 clusters has about 12,000; this allows
/// some 5,000 clusters and bounds memory (about 100 MB) and time.
pub(crate) const MAX_NODES: usize = 1 << 17;

/// Why a YAML text (a kubeconfig, an aws-auth ConfigMap) is refused: the end of "the
/// kubeconfig X cannot be used: ...".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Not YAML: the parser's words.
    NotYaml(String),
    TooDeep,
    TooManyNodes,
    /// Its aliases copy more than this many bytes of text (a "billion laughs").
    AliasesTooLarge(usize),
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
    /// The text written would be larger than a file read may be (bytes).
    TooLarge(u64),
    /// The merged text would not read back as what was merged.
    NotWrittenBack,
    /// The merged text would not read back at all.
    Unreadable(Box<Refused>),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::NotYaml(e) => write!(f, "it is not YAML ({e})"),
            Refused::TooDeep => write!(f, "it nests deeper than {} levels", MAX_DEPTH),
            Refused::TooManyNodes => write!(
                f,
                "it has more than {} nodes with its aliases expanded",
                MAX_NODES
            ),
            Refused::AliasesTooLarge(limit) => write!(
                f,
                "its aliases (*name) copy more than {limit} bytes of text, far more than \
                 the file holds: aliases of large values, or of aliases (a \"billion laughs\")"
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
            Refused::TooLarge(max) => write!(
                f,
                "written, it would be larger than {} MiB, more than a kubeconfig that is read \
                 may be (aliases expanded?)",
                max >> 20
            ),
            Refused::NotWrittenBack => {
                f.write_str("it holds a value that would not be written back as it is")
            }
            Refused::Unreadable(e) => write!(f, "it would not be written back readable: {e}"),
        }
    }
}
