//! Just enough XML for STS answers: every leaf element's text, by its path of local
//! names. A document that is not well-formed, is cut short, or nests deeper than any STS
//! answer does is an error; the work is linear in the size of the body.

use std::fmt;

use quick_xml::events::Event;
use quick_xml::Reader;

/// STS answers nest 4 deep, have about 15 leaves and short names; a body far beyond
/// that is not one of them, and these bounds keep the work linear in its size.
const MAX_DEPTH: usize = 16;
const MAX_LEAVES: usize = 1024;
const MAX_NAME: usize = 128;

/// Leaf values of a document, each with its `/`-joined path of local names.
pub(crate) struct Leaves(Vec<(String, String)>);

/// Why a body is not a usable XML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum XmlError {
    NotUtf8,
    Syntax(String),
    TooDeep,
    TooLarge,
    SecondRoot,
    Truncated(String),
    Empty,
    Entity(String),
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XmlError::NotUtf8 => f.write_str("the body is not UTF-8"),
            XmlError::Syntax(e) => write!(f, "not valid XML: {e}"),
            XmlError::TooDeep => write!(f, "elements nest deeper than {MAX_DEPTH}"),
            XmlError::TooLarge => write!(
                f,
                "more than {MAX_LEAVES} elements, or a name longer than {MAX_NAME} bytes"
            ),
            XmlError::SecondRoot => f.write_str("more than one root element"),
            XmlError::Truncated(at) => write!(f, "the document ends inside <{at}>"),
            XmlError::Empty => f.write_str("no XML element"),
            XmlError::Entity(e) => write!(f, "unknown entity &{e};"),
        }
    }
}

impl Leaves {
    /// The text of the first leaf whose path ends with `suffix` (e.g.
    /// `Credentials/AccessKeyId`).
    pub(crate) fn get(&self, suffix: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(p, _)| {
                p == suffix || (p.ends_with(suffix) && p[..p.len() - suffix.len()].ends_with('/'))
            })
            .map(|(_, v)| v.as_str())
    }
}

/// Parses `body` into its leaves.
pub(crate) fn parse(body: &[u8]) -> Result<Leaves, XmlError> {
    let text = std::str::from_utf8(body).map_err(|_| XmlError::NotUtf8)?;
    let mut reader = Reader::from_str(text);
    // The current element path, and for each open element the length of the path
    // before it and whether it has child elements.
    let mut path = String::new();
    let mut open: Vec<(usize, bool)> = Vec::new();
    let mut leaves = Vec::new();
    let mut current = String::new();
    let mut saw_root = false;
    let mut enter = |path: &mut String, open: &mut Vec<(usize, bool)>, name: &str| {
        if open.is_empty() && saw_root {
            return Err(XmlError::SecondRoot);
        }
        if open.len() >= MAX_DEPTH {
            return Err(XmlError::TooDeep);
        }
        if name.len() > MAX_NAME {
            return Err(XmlError::TooLarge);
        }
        saw_root = true;
        if let Some(parent) = open.last_mut() {
            parent.1 = true;
        }
        open.push((path.len(), false));
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(name);
        Ok(())
    };
    loop {
        match reader
            .read_event()
            .map_err(|e| XmlError::Syntax(e.to_string()))?
        {
            Event::Start(e) => {
                enter(&mut path, &mut open, e.local_name().as_ref())?;
                current.clear();
            }
            Event::Empty(e) => {
                enter(&mut path, &mut open, e.local_name().as_ref())?;
                if leaves.len() >= MAX_LEAVES {
                    return Err(XmlError::TooLarge);
                }
                leaves.push((path.clone(), String::new()));
                let (len, _) = open.pop().unwrap_or_default();
                path.truncate(len);
            }
            Event::Text(t) => current.push_str(&t.xml10_content()),
            Event::CData(t) => current.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                if let Some(c) = r
                    .resolve_char_ref()
                    .map_err(|e| XmlError::Syntax(e.to_string()))?
                {
                    current.push(c);
                } else {
                    let name = r.xml10_content();
                    let v = quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| XmlError::Entity(name.into_owned()))?;
                    current.push_str(v);
                }
            }
            Event::End(_) => {
                let (len, has_children) = open.pop().unwrap_or_default();
                let value = std::mem::take(&mut current);
                // Only leaves: an element that had child elements records nothing.
                if !has_children {
                    if leaves.len() >= MAX_LEAVES {
                        return Err(XmlError::TooLarge);
                    }
                    leaves.push((path.clone(), value.trim().to_owned()));
                }
                path.truncate(len);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !open.is_empty() {
        return Err(XmlError::Truncated(path));
    }
    if !saw_root {
        return Err(XmlError::Empty);
    }
    Ok(Leaves(leaves))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_and_entities() {
        let doc = br#"<?xml version="1.0"?>
<R xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><A><B>x &amp; y&#33;</B><C/></A><D> z </D></R>"#;
        let l = parse(doc).unwrap();
        assert_eq!(l.get("A/B"), Some("x & y!"));
        assert_eq!(l.get("B"), Some("x & y!"));
        assert_eq!(l.get("C"), Some(""));
        assert_eq!(l.get("D"), Some("z"));
        assert_eq!(l.get("A"), None);
        assert_eq!(l.get("R/A/B"), Some("x & y!"));
        // A suffix matches whole names only.
        assert_eq!(l.get("/B"), None);
        assert_eq!(parse(b"<R><XB>1</XB></R>").unwrap().get("B"), None);
    }

    #[test]
    fn rejects_broken_documents() {
        assert_eq!(
            parse(b"<R><A>x</A>").err(),
            Some(XmlError::Truncated("R".into()))
        );
        assert!(parse(b"<R><A>x</B></R>").is_err());
        assert!(parse(b"<html><body>502 Bad Gateway").is_err());
        assert_eq!(parse(b"").err(), Some(XmlError::Empty));
        assert!(parse(b"not xml").is_err());
        assert_eq!(parse(&[0xff, 0xfe]).err(), Some(XmlError::NotUtf8));
        assert_eq!(parse(b"<R/><S/>").err(), Some(XmlError::SecondRoot));
        assert_eq!(
            parse(b"<R>&bogus;</R>").err(),
            Some(XmlError::Entity("bogus".into()))
        );
    }

    #[test]
    fn huge_documents_are_refused() {
        let many = "<R>".to_owned() + &"<a/>".repeat(MAX_LEAVES + 1) + "</R>";
        assert_eq!(parse(many.as_bytes()).err(), Some(XmlError::TooLarge));
        let long = format!("<{0}>x</{0}>", "n".repeat(MAX_NAME + 1));
        assert_eq!(parse(long.as_bytes()).err(), Some(XmlError::TooLarge));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert_eq!(parse(deep.as_bytes()).err(), Some(XmlError::TooDeep));
        let ok = "<a>".repeat(MAX_DEPTH) + "x" + &"</a>".repeat(MAX_DEPTH);
        assert_eq!(parse(ok.as_bytes()).unwrap().0.len(), 1);
    }
}
