//! aws-cli's YAML layout: what PyYAML's `yaml.dump(content, Dumper=SafeDumper,
//! default_flow_style=False)` writes, so that `eks update-kubeconfig` leaves the same
//! bytes as aws-cli. Block style, two-space indent, sequences inside a mapping not
//! indented, empty collections as `{}` and `[]`, plain scalars where PyYAML's resolver
//! would read them back as strings (else single quotes), long plain and single-quoted
//! strings folded at spaces past column 80.
//!
//! What this layout does not cover (keys PyYAML would write as `? key`: empty,
//! multi-line or of 128 characters and more) gives `None`: the caller writes that content
//! another way. One deliberate difference: a string that PyYAML would leave plain but
//! kubectl would not read as a string (go-yaml v2 reads `1e3` as a float, `y` as true)
//! is single-quoted: aws-cli writes a quoted `"1e3"` back plain, and kubectl then
//! refuses the file.

use yaml_rust2::Yaml;

/// PyYAML's `best_width`.
const WIDTH: usize = 80;
/// PyYAML writes a longer key as a complex key (`? key`).
const MAX_SIMPLE_KEY: usize = 128;

/// The text PyYAML would write for `y` (a mapping at the top), or `None` when it holds
/// something this layout does not cover.
pub(crate) fn dump(y: &Yaml) -> Option<String> {
    let mut w = Writer {
        out: String::new(),
        column: 0,
    };
    match y {
        Yaml::Hash(h) if !h.is_empty() => w.mapping(h, 0, false)?,
        _ => return None,
    }
    w.out.push('\n');
    Some(w.out)
}

struct Writer {
    out: String,
    column: usize,
}

impl Writer {
    fn write(&mut self, s: &str) {
        self.out.push_str(s);
        self.column += s.chars().count();
    }

    fn line(&mut self, indent: usize) {
        self.out.push('\n');
        self.out.extend(std::iter::repeat_n(' ', indent));
        self.column = indent;
    }

    /// A non-empty mapping whose keys sit at column `indent`; `inline`: the first key
    /// goes where the cursor is (after `- `).
    fn mapping(&mut self, h: &yaml_rust2::yaml::Hash, indent: usize, inline: bool) -> Option<()> {
        for (i, (k, v)) in h.iter().enumerate() {
            if i > 0 || !inline {
                if !self.out.is_empty() {
                    self.line(indent);
                } else {
                    self.write(&" ".repeat(indent));
                }
            }
            self.key(k)?;
            self.write(":");
            self.value(v, indent, true)?;
        }
        Some(())
    }

    /// A non-empty sequence whose `- ` sit at column `indent`; `inline`: the first item
    /// goes where the cursor is.
    fn sequence(&mut self, items: &[Yaml], indent: usize, inline: bool) -> Option<()> {
        for (i, item) in items.iter().enumerate() {
            if i > 0 || !inline {
                self.line(indent);
            }
            self.write("-");
            match item {
                Yaml::Hash(h) if !h.is_empty() => {
                    self.write(" ");
                    self.mapping(h, indent + 2, true)?;
                }
                Yaml::Array(a) if !a.is_empty() => {
                    self.write(" ");
                    self.sequence(a, indent + 2, true)?;
                }
                other => self.value(other, indent, false)?,
            }
        }
        Some(())
    }

    /// The value after `key:` (`in_mapping`) or `-`: a scalar or empty collection on
    /// the same line, a collection on the next lines.
    fn value(&mut self, v: &Yaml, indent: usize, in_mapping: bool) -> Option<()> {
        match v {
            Yaml::Hash(h) if h.is_empty() => self.write(" {}"),
            Yaml::Array(a) if a.is_empty() => self.write(" []"),
            Yaml::Hash(h) => self.mapping(h, indent + 2, false)?,
            // PyYAML does not indent a sequence that is a mapping's value.
            Yaml::Array(a) if in_mapping => self.sequence(a, indent, false)?,
            Yaml::Array(a) => self.sequence(a, indent + 2, false)?,
            scalar => self.value_scalar(scalar, indent + 2)?,
        }
        Some(())
    }

    /// A simple key: never folded, no space before it. PyYAML writes an empty,
    /// multi-line or long key as `? key`, which this layout does not.
    fn key(&mut self, k: &Yaml) -> Option<()> {
        if let Yaml::String(s) = k {
            if s.is_empty() || s.chars().count() >= MAX_SIMPLE_KEY || analyze(s).multiline {
                return None;
            }
        }
        self.scalar(k, None)
    }

    /// A value scalar: a space, then the scalar, folded lines continuing at `indent`.
    fn value_scalar(&mut self, v: &Yaml, indent: usize) -> Option<()> {
        self.write(" ");
        self.scalar(v, Some(indent))
    }

    /// A scalar; `fold`: the indent of folded lines (`None`: a key, not folded).
    fn scalar(&mut self, v: &Yaml, fold: Option<usize>) -> Option<()> {
        match v {
            Yaml::String(s) => {
                let a = analyze(s);
                // Plain where PyYAML would write it plain, unless kubectl (and our
                // reader) would not read it back as a string (`1e3`, `y`).
                if a.plain
                    && resolves_to_string(s)
                    && matches!(super::scalars::resolve_plain(s), Yaml::String(_))
                {
                    self.folded(s, fold, false);
                } else if a.single_quoted {
                    self.write("'");
                    self.folded(s, fold, true);
                    self.write("'");
                } else {
                    self.double_quoted(s, fold);
                }
            }
            Yaml::Integer(i) => self.write(&i.to_string()),
            Yaml::Real(r) => self.write(r),
            Yaml::Boolean(b) => self.write(if *b { "true" } else { "false" }),
            Yaml::Null => self.write("null"),
            _ => return None,
        }
        Some(())
    }

    /// PyYAML's `write_double_quoted`: escapes for `"`, `\\`, control and non-ASCII
    /// characters; past the width, a line ends in `\\` and goes on at `fold`.
    fn double_quoted(&mut self, s: &str, fold: Option<usize>) {
        let chars: Vec<char> = s.chars().collect();
        let n = chars.len();
        self.write("\"");
        let mut start = 0;
        for end in 0..=n {
            let ch = chars.get(end).copied();
            let escape = ch.is_none_or(|c| {
                "\"\\\u{85}\u{2028}\u{2029}\u{FEFF}".contains(c) || !(' '..='~').contains(&c)
            });
            if escape {
                if start < end {
                    self.write(&chars[start..end].iter().collect::<String>());
                    start = end;
                }
                if let Some(c) = ch {
                    self.write(&escaped(c));
                    start = end + 1;
                }
            }
            if let Some(indent) = fold {
                if 0 < end
                    && end + 1 < n
                    && (ch == Some(' ') || start >= end)
                    // PyYAML adds end - start, which is -1 just after an escape.
                    && self.column as isize + end as isize - start as isize > WIDTH as isize
                {
                    let mut data: String = chars[start.min(end)..end].iter().collect();
                    data.push('\\');
                    start = start.max(end);
                    self.write(&data);
                    self.line(indent);
                    if chars[start] == ' ' {
                        self.write("\\");
                    }
                }
            }
        }
        self.write("\"");
    }

    /// PyYAML's `write_plain` and `write_single_quoted`: at a single space past the
    /// width, a new line at `fold` instead of the space; in quotes, `'` doubled and each
    /// line break written as an empty line.
    fn folded(&mut self, s: &str, fold: Option<usize>, quoted: bool) {
        let chars: Vec<char> = s.chars().collect();
        let (mut start, mut spaces, mut breaks) = (0, false, false);
        for end in 0..=chars.len() {
            let ch = chars.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    let inner = !quoted || (start != 0 && end != chars.len());
                    match fold {
                        Some(indent) if start + 1 == end && self.column > WIDTH && inner => {
                            self.line(indent)
                        }
                        _ => self.write(&chars[start..end].iter().collect::<String>()),
                    }
                    start = end;
                }
            } else if breaks {
                if ch != Some('\n') {
                    // Only quoted text has breaks here.
                    self.out.push('\n');
                    for _ in start..end {
                        self.out.push('\n');
                    }
                    let indent = fold.unwrap_or(0);
                    self.out.extend(std::iter::repeat_n(' ', indent));
                    self.column = indent;
                    start = end;
                }
            } else if (ch.is_none()
                || ch == Some(' ')
                || ch == Some('\n')
                || (quoted && ch == Some('\'')))
                && start < end
            {
                self.write(&chars[start..end].iter().collect::<String>());
                start = end;
            }
            if quoted && ch == Some('\'') {
                self.write("''");
                start = end + 1;
            }
            spaces = ch == Some(' ');
            breaks = ch == Some('\n');
        }
    }
}

/// PyYAML's escape of `c` in double quotes.
fn escaped(c: char) -> String {
    let short = match c {
        '\0' => '0',
        '\u{7}' => 'a',
        '\u{8}' => 'b',
        '\t' => 't',
        '\n' => 'n',
        '\u{B}' => 'v',
        '\u{C}' => 'f',
        '\r' => 'r',
        '\u{1B}' => 'e',
        '"' => '"',
        '\\' => '\\',
        '\u{85}' => 'N',
        '\u{A0}' => '_',
        '\u{2028}' => 'L',
        '\u{2029}' => 'P',
        c if (c as u32) <= 0xFF => return format!("\\x{:02X}", c as u32),
        c if (c as u32) <= 0xFFFF => return format!("\\u{:04X}", c as u32),
        c => return format!("\\U{:08X}", c as u32),
    };
    format!("\\{short}")
}

/// What PyYAML's `analyze_scalar` finds of a string, for block context.
struct Analysis {
    /// It may be written plain (when it also resolves to a string).
    plain: bool,
    /// Else it may be single-quoted (else double-quoted, with escapes).
    single_quoted: bool,
    /// It has line breaks (a key with them is not simple).
    multiline: bool,
}

fn analyze(s: &str) -> Analysis {
    let chars: Vec<char> = s.chars().collect();
    let Some((&first, &last)) = chars.first().zip(chars.last()) else {
        return Analysis {
            plain: true,
            single_quoted: true,
            multiline: false,
        };
    };
    let blank = |c: char| {
        matches!(
            c,
            '\0' | ' ' | '\t' | '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}'
        )
    };
    let is_break = |c: char| matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}');
    let mut indicators = s.starts_with("---") || s.starts_with("...");
    let (mut line_breaks, mut special) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    for (i, &ch) in chars.iter().enumerate() {
        let followed_by_blank = chars.get(i + 1).is_none_or(|&c| blank(c));
        if i == 0 {
            indicators |=
                "#,[]{}&*!|>'\"%@`".contains(ch) || ("?:-".contains(ch) && followed_by_blank);
        } else {
            indicators |= (ch == ':' && followed_by_blank) || (ch == '#' && blank(chars[i - 1]));
        }
        line_breaks |= is_break(ch);
        // With allow_unicode off, everything but printable ASCII and \n is escaped.
        special |= !(ch == '\n' || (' '..='~').contains(&ch));
        if i > 0 {
            break_space |= ch == ' ' && is_break(chars[i - 1]);
            space_break |= is_break(ch) && chars[i - 1] == ' ';
        }
    }
    let edges = first == ' ' || last == ' ' || is_break(first) || is_break(last);
    let single_quoted = !(break_space || space_break || special);
    Analysis {
        plain: single_quoted && !edges && !line_breaks && !indicators,
        single_quoted,
        multiline: line_breaks,
    }
}

/// Whether PyYAML's implicit resolver reads plain `s` as a string (not a bool, number,
/// null, timestamp, merge key, ...).
fn resolves_to_string(s: &str) -> bool {
    const BOOLS: &[&str] = &[
        "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
        "on", "On", "ON", "off", "Off", "OFF",
    ];
    const OTHERS: &[&str] = &["~", "null", "Null", "NULL", "", "<<", "=", "!", "&", "*"];
    !(BOOLS.contains(&s) || OTHERS.contains(&s) || is_int(s) || is_float(s) || is_timestamp(s))
}

/// A cursor over ASCII text for the resolver's patterns.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn new(s: &str) -> Cursor<'_> {
        Cursor {
            b: s.as_bytes(),
            i: 0,
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, f: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(c) if f(c) => {
                self.i += 1;
                true
            }
            _ => false,
        }
    }
    fn eat_str(&mut self, s: &str) -> bool {
        if self.b[self.i..].starts_with(s.as_bytes()) {
            self.i += s.len();
            true
        } else {
            false
        }
    }
    /// As many as match; how many.
    fn many(&mut self, f: impl Fn(u8) -> bool + Copy) -> usize {
        let start = self.i;
        while self.eat(f) {}
        self.i - start
    }
    fn done(&self) -> bool {
        self.i == self.b.len()
    }
    fn sign(&mut self) {
        self.eat(|c| c == b'+' || c == b'-');
    }
    /// `(:[0-5]?[0-9])+`
    fn sexagesimal(&mut self) -> bool {
        let mut n = 0;
        while self.peek() == Some(b':') {
            let save = self.i;
            self.i += 1;
            let two = matches!(self.b.get(self.i..self.i + 2), Some([a, b]) if (b'0'..=b'5').contains(a) && b.is_ascii_digit());
            if two {
                self.i += 2;
            } else if !self.eat(|c| c.is_ascii_digit()) {
                self.i = save;
                break;
            }
            n += 1;
        }
        n > 0
    }
    /// `[eE][-+][0-9]+`, optional.
    fn exponent(&mut self) -> bool {
        let save = self.i;
        if self.eat(|c| c == b'e' || c == b'E')
            && self.eat(|c| c == b'+' || c == b'-')
            && self.many(|c| c.is_ascii_digit()) > 0
        {
            return true;
        }
        self.i = save;
        false
    }
}

fn digit_(c: u8) -> bool {
    c.is_ascii_digit() || c == b'_'
}

/// PyYAML's int pattern.
fn is_int(s: &str) -> bool {
    let alternatives: [fn(&mut Cursor<'_>) -> bool; 5] = [
        |c| c.eat_str("0b") && c.many(|x| x == b'0' || x == b'1' || x == b'_') > 0,
        |c| c.eat_str("0") && c.many(|x| (b'0'..=b'7').contains(&x) || x == b'_') > 0,
        |c| {
            c.eat_str("0")
                || (c.eat(|x| (b'1'..=b'9').contains(&x)) && {
                    c.many(digit_);
                    true
                })
        },
        |c| c.eat_str("0x") && c.many(|x| x.is_ascii_hexdigit() || x == b'_') > 0,
        |c| {
            c.eat(|x| (b'1'..=b'9').contains(&x)) && {
                c.many(digit_);
                c.sexagesimal()
            }
        },
    ];
    alternatives.iter().any(|alt| {
        let mut c = Cursor::new(s);
        c.sign();
        alt(&mut c) && c.done()
    })
}

/// PyYAML's float pattern.
fn is_float(s: &str) -> bool {
    let alternatives: [fn(&mut Cursor<'_>) -> bool; 5] = [
        |c| {
            c.sign();
            c.eat(|x| x.is_ascii_digit())
                && {
                    c.many(digit_);
                    c.eat_str(".")
                }
                && {
                    c.many(digit_);
                    c.exponent();
                    true
                }
        },
        |c| {
            c.eat_str(".") && c.eat(|x| x.is_ascii_digit()) && {
                c.many(digit_);
                c.exponent();
                true
            }
        },
        |c| {
            c.sign();
            c.eat(|x| x.is_ascii_digit())
                && {
                    c.many(digit_);
                    c.sexagesimal()
                }
                && c.eat_str(".")
                && {
                    c.many(digit_);
                    true
                }
        },
        |c| {
            c.sign();
            c.eat_str(".") && (c.eat_str("inf") || c.eat_str("Inf") || c.eat_str("INF"))
        },
        |c| c.eat_str(".") && (c.eat_str("nan") || c.eat_str("NaN") || c.eat_str("NAN")),
    ];
    alternatives.iter().any(|alt| {
        let mut c = Cursor::new(s);
        alt(&mut c) && c.done()
    })
}

/// PyYAML's timestamp pattern.
fn is_timestamp(s: &str) -> bool {
    // `[0-9]{min,max}`
    fn digits(c: &mut Cursor<'_>, min: usize, max: usize) -> bool {
        let start = c.i;
        while c.i - start < max && c.eat(|x| x.is_ascii_digit()) {}
        c.i - start >= min
    }
    let date = |c: &mut Cursor<'_>, min: usize| {
        digits(c, 4, 4)
            && c.eat_str("-")
            && digits(c, min, 2)
            && c.eat_str("-")
            && digits(c, min, 2)
    };
    let mut c = Cursor::new(s);
    if date(&mut c, 2) && c.done() {
        return true;
    }
    let mut c = Cursor::new(s);
    let blanks = |x: u8| x == b' ' || x == b'\t';
    if !(date(&mut c, 1) && (c.eat(|x| x == b'T' || x == b't') || c.many(blanks) > 0)) {
        return false;
    }
    if !(digits(&mut c, 1, 2)
        && c.eat_str(":")
        && digits(&mut c, 2, 2)
        && c.eat_str(":")
        && digits(&mut c, 2, 2))
    {
        return false;
    }
    if c.eat_str(".") {
        c.many(|x| x.is_ascii_digit());
    }
    if c.done() {
        return true;
    }
    c.many(blanks);
    if c.eat_str("Z") {
        return c.done();
    }
    if !(c.eat(|x| x == b'+' || x == b'-') && digits(&mut c, 1, 2)) {
        return false;
    }
    if c.eat_str(":") && !digits(&mut c, 2, 2) {
        return false;
    }
    c.done()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resolver_reads_what_pyyaml_reads() {
        for s in [
            "true",
            "NO",
            "~",
            "",
            "0",
            "-12",
            "0x1F",
            "0b101",
            "0755",
            "1_000",
            "1:30",
            "1.5",
            ".5",
            "1.",
            "-1.5e+3",
            "1:30.5",
            ".inf",
            "-.INF",
            ".NaN",
            "2001-12-14",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10",
            "2001-1-1 1:02:03 Z",
            "<<",
            "=",
        ] {
            assert!(!resolves_to_string(s), "{s:?}");
        }
        for s in [
            "yes please",
            "1.2.3",
            "1e3",
            "0x",
            "09",
            "1:60",
            "v1",
            "us-east-1",
            "2001-12-14T",
            "arn:aws:eks:us-east-1:1:cluster/dev",
            "--region",
            "0o17",
            "+",
            ".",
            "0_9",
        ] {
            assert!(resolves_to_string(s), "{s:?}");
        }
    }
}
