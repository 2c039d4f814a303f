//! Where a judged value sits in the evidence: `sha256:<digest>#$['vpcSet'][0]['cidrBlock']`.
//!
//! Evaluation visits far more values than it cites (a passing security group has every permission
//! looked at, and its list cited once), so a location is kept as a chain of borrowed parts and written
//! out as text only when a trace keeps it.

use super::path::{Query, Rel};
use std::borrow::Cow;

/// A node's location, built into text on demand with [`Location::render`].
#[derive(Debug, Clone)]
pub enum Location<'a> {
    /// A whole location, as text.
    Text(Cow<'a, str>),
    /// `<digest>#<path>`: a place in the document named by `digest` (a resource's document, a joined
    /// item).
    InDoc { digest: &'a str, path: &'a str },
    /// What `query` selected, at `rel`, under `parent`.
    Under {
        parent: &'a Location<'a>,
        query: &'a Query,
        rel: Rel<'a>,
    },
}

impl Location<'_> {
    /// The location as text.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(128);
        self.write(&mut out);
        out
    }

    /// The location of what `query` selected at `rel` under this one, as text.
    pub fn child(&self, query: &Query, rel: &Rel<'_>) -> String {
        let mut out = String::with_capacity(128);
        self.write(&mut out);
        query.push_rel(&mut out, rel);
        out
    }

    /// The document part (`sha256:…`, before the `#`).
    pub fn digest(&self) -> &str {
        match self {
            Location::Text(t) => t.split('#').next().unwrap_or(""),
            Location::InDoc { digest, .. } => digest,
            Location::Under { parent, .. } => parent.digest(),
        }
    }

    fn write(&self, out: &mut String) {
        match self {
            Location::Text(t) => out.push_str(t),
            Location::InDoc { digest, path } => {
                out.push_str(digest);
                out.push('#');
                out.push_str(path);
            }
            Location::Under { parent, query, rel } => {
                parent.write(out);
                query.push_rel(out, rel);
            }
        }
    }
}

impl From<String> for Location<'_> {
    fn from(s: String) -> Self {
        Location::Text(Cow::Owned(s))
    }
}

impl<'a> From<&'a str> for Location<'a> {
    fn from(s: &'a str) -> Self {
        Location::Text(Cow::Borrowed(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn chains_render_as_the_paths_they_stand_for() {
        let doc = json!({"a": [{"b": {"it's": 1}}, {"b": {"it's": 2}}]});
        let root = Location::InDoc {
            digest: "sha256:ab",
            path: "$",
        };
        let items = Query::compile("$.a[*]").unwrap();
        let (item, rel) = items.select_rel(&doc).pop().unwrap();
        let at = Location::Under {
            parent: &root,
            query: &items,
            rel,
        };
        assert_eq!(at.render(), "sha256:ab#$['a'][1]");
        assert_eq!(at.digest(), "sha256:ab");
        let leaf = Query::compile("$.b['it\\'s']").unwrap();
        let (_, rel) = leaf.first(item).unwrap();
        assert_eq!(at.child(&leaf, &rel), "sha256:ab#$['a'][1]['b']['it\\'s']");
        assert_eq!(Location::from("sha256:cd#$['x']").digest(), "sha256:cd");
    }
}
