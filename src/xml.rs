//! Just enough XML for STS answers: every leaf element's text, by its path of local
//! names. A document that is not well-formed, or is cut short, is an error.

use quick_xml::events::Event;
use quick_xml::Reader;

/// Leaf values of a document, each with its `/`-joined path of local names.
pub struct Leaves(Vec<(String, String)>);

impl Leaves {
    /// The text of the first leaf whose path ends with `suffix` (e.g.
    /// `Credentials/AccessKeyId`).
    pub fn get(&self, suffix: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(p, _)| p == suffix || p.ends_with(&format!("/{suffix}")))
            .map(|(_, v)| v.as_str())
    }

    /// The local name of the root element.
    pub fn root(&self) -> Option<&str> {
        self.0
            .first()
            .map(|(p, _)| p.split('/').next().unwrap_or(""))
    }
}

/// Parses `body` into its leaves.
pub fn parse(body: &[u8]) -> Result<Leaves, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_owned())?;
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<String> = Vec::new();
    let mut leaves = Vec::new();
    let mut current = String::new();
    let mut saw_root = false;
    loop {
        match reader
            .read_event()
            .map_err(|e| format!("not valid XML: {e}"))?
        {
            Event::Start(e) => {
                if stack.is_empty() && saw_root {
                    return Err("more than one root element".into());
                }
                saw_root = true;
                stack.push(e.local_name().as_ref().to_owned());
                current.clear();
            }
            Event::Empty(e) => {
                if stack.is_empty() && saw_root {
                    return Err("more than one root element".into());
                }
                saw_root = true;
                let name = e.local_name().as_ref().to_owned();
                let path = if stack.is_empty() {
                    name
                } else {
                    format!("{}/{name}", stack.join("/"))
                };
                leaves.push((path, String::new()));
            }
            Event::Text(t) => current.push_str(&t.xml10_content()),
            Event::CData(t) => current.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                if let Some(c) = r
                    .resolve_char_ref()
                    .map_err(|e| format!("bad reference: {e}"))?
                {
                    current.push(c);
                } else {
                    let name = r.xml10_content();
                    let v = quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("unknown entity &{name};"))?;
                    current.push_str(v);
                }
            }
            Event::End(_) => {
                let path = stack.join("/");
                stack.pop();
                let value = std::mem::take(&mut current);
                let value = value.trim();
                // Only leaves: an element that had child elements records nothing.
                if leaves
                    .last()
                    .is_none_or(|(p, _): &(String, String)| !p.starts_with(&format!("{path}/")))
                {
                    leaves.push((path, value.to_owned()));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(format!("the document ends inside <{}>", stack.join("/")));
    }
    if !saw_root {
        return Err("no XML element".into());
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
        assert_eq!(l.root(), Some("R"));
    }

    #[test]
    fn rejects_broken_documents() {
        assert!(parse(b"<R><A>x</A>").is_err());
        assert!(parse(b"<R><A>x</B></R>").is_err());
        assert!(parse(b"<html><body>502 Bad Gateway").is_err());
        assert!(parse(b"").is_err());
        assert!(parse(b"not xml").is_err());
        assert!(parse(&[0xff, 0xfe]).is_err());
        assert!(parse(b"<R/><S/>").is_err());
    }
}
