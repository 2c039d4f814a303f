//! Re-indenting evidence bodies for reading, with a cap: output stops at a number of characters, so
//! a body is cut *before* it is expanded (a JSON body nested 200,000 deep would otherwise re-indent
//! to tens of gigabytes). Neither printer recurses: depth costs a counter, not stack.

/// Output text that stops growing at `max` characters, counting what would have followed.
struct Capped {
    out: String,
    chars: usize,
    max: usize,
}

impl Capped {
    fn new(max: usize, hint: usize) -> Self {
        Capped {
            out: String::with_capacity(hint.min(max.saturating_mul(2))),
            chars: 0,
            max,
        }
    }

    fn full(&self) -> bool {
        self.chars > self.max
    }

    fn push(&mut self, c: char) {
        if self.chars < self.max {
            self.out.push(c);
        }
        self.chars += 1;
    }

    fn push_str(&mut self, s: &str) {
        for c in s.chars() {
            if self.full() {
                return;
            }
            self.push(c);
        }
    }

    /// A line break and `depth` levels of two-space indentation.
    fn newline(&mut self, depth: usize) {
        self.push('\n');
        self.indent(depth);
    }

    /// `depth` levels of two-space indentation.
    fn indent(&mut self, depth: usize) {
        let want = depth.saturating_mul(2);
        let room = self.max.saturating_sub(self.chars).min(want);
        self.out.extend(std::iter::repeat_n(' ', room));
        self.chars = self.chars.saturating_add(want);
    }

    /// The text, and whether anything was cut.
    fn finish(self) -> (String, bool) {
        let cut = self.chars > self.max;
        (self.out, cut)
    }
}

/// Re-indents JSON text token by token, so key order and number spelling stay exactly as received
/// (parsing and re-serializing would sort keys and normalize numbers). Invalid JSON is re-indented
/// as far as it goes; nothing is dropped. Stops after `max` characters; the flag says whether it did.
pub fn pretty_json_capped(text: &str, max: usize) -> (String, bool) {
    let mut out = Capped::new(max, text.len() + text.len() / 4);
    let mut depth: usize = 0;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.trim().chars().peekable();
    while let Some(c) = chars.next() {
        if out.full() {
            break;
        }
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                // Keep empty containers on one line.
                while chars.peek().is_some_and(|n| n.is_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}') | Some(']')) {
                    out.push(chars.next().unwrap_or(' '));
                } else {
                    depth += 1;
                    out.newline(depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                out.newline(depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                out.newline(depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out.finish()
}

/// Re-indents XML with two spaces per level. Tags, attributes and text are written back exactly as
/// they were (still escaped; entity references kept); an element holding only text stays on one line.
/// Whitespace between elements is dropped. Stops after `max` characters (the flag says whether it
/// did); None when the XML read before then does not parse.
pub fn pretty_xml_capped(text: &str, max: usize) -> Option<(String, bool)> {
    use quick_xml::events::Event;
    let raw = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out = Capped::new(max, text.len() + text.len() / 4);
    let mut depth = 0usize;
    // Text (and references) since the last tag, and whether the last line is a start tag that the
    // text and the matching end tag may still join. Pending text is kept only up to the cap.
    let mut pending = String::new();
    let mut open_line = false;
    let line = |out: &mut Capped, depth: usize, s: &str| {
        if out.chars > 0 {
            out.newline(depth);
        } else {
            out.indent(depth);
        }
        out.push_str(s);
    };
    // Mixed content: text before a child element gets its own line.
    let flush = |out: &mut Capped, pending: &mut String, depth: usize, open_line: &mut bool| {
        let t = pending.trim();
        if !t.is_empty() {
            line(out, depth, t);
        }
        pending.clear();
        *open_line = false;
    };
    let keep = |pending: &mut String, s: &str| {
        if pending.len() <= max.saturating_mul(4) {
            pending.push_str(s);
        }
    };
    while !out.full() {
        match reader.read_event().ok()? {
            Event::Eof => break,
            Event::Start(e) => {
                flush(&mut out, &mut pending, depth, &mut open_line);
                line(&mut out, depth, &format!("<{}>", raw(&e)));
                depth += 1;
                open_line = true;
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                let end = format!("</{}>", raw(e.name().as_ref()));
                if open_line {
                    out.push_str(pending.trim());
                    out.push_str(&end);
                    pending.clear();
                } else {
                    flush(&mut out, &mut pending, depth + 1, &mut open_line);
                    line(&mut out, depth, &end);
                }
                open_line = false;
            }
            Event::Empty(e) => {
                flush(&mut out, &mut pending, depth, &mut open_line);
                line(&mut out, depth, &format!("<{}/>", raw(&e)));
            }
            Event::Text(t) => keep(&mut pending, &raw(&t)),
            Event::GeneralRef(r) => keep(&mut pending, &format!("&{};", raw(&r))),
            Event::CData(c) => keep(&mut pending, &format!("<![CDATA[{}]]>", raw(&c))),
            other => {
                flush(&mut out, &mut pending, depth, &mut open_line);
                let s = match other {
                    Event::Decl(d) => format!("<?{}?>", raw(&d)),
                    Event::PI(p) => format!("<?{}?>", raw(&p)),
                    Event::Comment(c) => format!("<!--{}-->", raw(&c)),
                    Event::DocType(d) => format!("<!DOCTYPE {}>", raw(&d)),
                    _ => String::new(),
                };
                line(&mut out, depth, &s);
            }
        }
    }
    flush(&mut out, &mut pending, depth, &mut open_line);
    Some(out.finish())
}

/// `text` cut to `max` characters, and whether it was cut.
pub fn cut_text(text: &str, max: usize) -> (String, bool) {
    match text.char_indices().nth(max) {
        Some((i, _)) => (text[..i].to_string(), true),
        None => (text.to_string(), false),
    }
}

/// A writer keeping at most `max` bytes; past them, writes fail, so a serializer stops early.
pub struct CappedWriter {
    pub buf: Vec<u8>,
    max: usize,
}

impl CappedWriter {
    pub fn new(max: usize) -> Self {
        CappedWriter {
            buf: Vec::new(),
            max,
        }
    }
}

impl std::io::Write for CappedWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let room = self.max.saturating_sub(self.buf.len());
        if room == 0 {
            return Err(std::io::Error::other("output cap reached"));
        }
        let n = room.min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_key_order_and_numbers() {
        let (s, cut) =
            pretty_json_capped(r#"{"b":1.50,"a":[],"c":{"x":"a,\"b:{"},"d":[1,2]}"#, 1000);
        assert_eq!(
            s,
            "{\n  \"b\": 1.50,\n  \"a\": [],\n  \"c\": {\n    \"x\": \"a,\\\"b:{\"\n  },\n  \"d\": [\n    1,\n    2\n  ]\n}"
        );
        assert!(!cut);
        let (short, cut) = pretty_json_capped(r#"{"b":1.50,"a":[]}"#, 5);
        assert_eq!((short.as_str(), cut), ("{\n  \"", true));
    }

    #[test]
    fn deep_json_is_cut_before_it_is_expanded() {
        let deep = "[".repeat(200_000) + &"]".repeat(200_000);
        let (s, cut) = pretty_json_capped(&deep, 10_000);
        assert!(cut);
        assert_eq!(s.chars().count(), 10_000);
    }

    #[test]
    fn xml_is_indented_and_text_kept_escaped() {
        let (s, cut) = pretty_xml_capped(
            "<?xml version=\"1.0\"?>\n<a>\n <b x=\"1\">x &lt;script&gt; &#65;</b><c/><d></d>\n<e>t<f/></e></a>",
            1000,
        )
        .unwrap();
        assert_eq!(
            s,
            "<?xml version=\"1.0\"?>\n<a>\n  <b x=\"1\">x &lt;script&gt; &#65;</b>\n  <c/>\n  <d></d>\n  <e>\n    t\n    <f/>\n  </e>\n</a>"
        );
        assert!(!cut);
        assert!(pretty_xml_capped("<a><b></a>", 1000).is_none());
        let deep = "<a>".repeat(200_000) + &"</a>".repeat(200_000);
        let (s, cut) = pretty_xml_capped(&deep, 10_000).unwrap();
        assert!(cut && s.chars().count() == 10_000);
    }
}
