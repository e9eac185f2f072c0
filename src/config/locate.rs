//! Finding where things are in a config file: byte offsets to line and column,
//! and a span to the dotted key it belongs to (`connectors[1].schedule`).

use std::fmt;
use std::ops::Range;
use toml_edit::{ImDocument, Item, Value};

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A dotted key path as operators write it: `connectors[1].credentials.api_key`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Seg>);

impl KeyPath {
    pub fn key(&self, k: &str) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_string()));
        p
    }

    pub fn index(&self, i: usize) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if n == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

/// 1-based line and column (in characters) of `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let column = text[line_start..offset].chars().count() + 1;
    (line, column)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A place in the document: tables, values and the tables of `[[arrays]]`
/// are different types in toml_edit.
#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a Item),
    Table(&'a toml_edit::Table),
    Value(&'a Value),
}

impl<'a> Node<'a> {
    fn child(self, seg: &Seg) -> Option<Node<'a>> {
        match (seg, self) {
            (Seg::Key(k), Node::Item(Item::Table(t))) | (Seg::Key(k), Node::Table(t)) => {
                t.get(k).map(Node::Item)
            }
            (Seg::Key(k), Node::Item(Item::Value(Value::InlineTable(t))))
            | (Seg::Key(k), Node::Value(Value::InlineTable(t))) => t.get(k).map(Node::Value),
            (Seg::Index(i), Node::Item(Item::ArrayOfTables(a))) => a.get(*i).map(Node::Table),
            (Seg::Index(i), Node::Item(Item::Value(Value::Array(a))))
            | (Seg::Index(i), Node::Value(Value::Array(a))) => a.get(*i).map(Node::Value),
            _ => None,
        }
    }

    fn span(self) -> Option<Range<usize>> {
        match self {
            Node::Item(item) => item_span(item),
            Node::Table(t) => t.span(),
            Node::Value(v) => v.span(),
        }
    }
}

/// The span of the value at `path`; for a table without the key, the table's
/// header, so "missing key" errors point at the right `[[connectors]]`.
pub fn span_of(doc: &ImDocument<String>, path: &KeyPath) -> Option<Range<usize>> {
    let mut node = Node::Item(doc.as_item());
    let mut best = None;
    for seg in &path.0 {
        let Some(next) = node.child(seg) else {
            return best;
        };
        best = next.span().or(best);
        node = next;
    }
    best
}

/// What TOML type the value at `path` has ("a string", "an array of tables"),
/// without its value; `None` when there is nothing at `path`.
pub fn kind_at(doc: &ImDocument<String>, path: &KeyPath) -> Option<&'static str> {
    let mut node = Node::Item(doc.as_item());
    for seg in &path.0 {
        node = node.child(seg)?;
    }
    Some(match node {
        Node::Item(Item::None) => return None,
        Node::Item(Item::Table(_)) | Node::Table(_) => "a table",
        Node::Item(Item::ArrayOfTables(_)) => "an array of tables",
        Node::Item(Item::Value(v)) | Node::Value(v) => value_kind(v),
    })
}

fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::InlineTable(_) => "a table",
        Value::Array(a) if !a.is_empty() && a.iter().all(|v| v.is_inline_table()) => {
            "an array of tables"
        }
        Value::Array(_) => "an array",
    }
}

fn item_span(item: &Item) -> Option<Range<usize>> {
    match item {
        Item::Value(v) => v.span(),
        Item::Table(t) => t.span(),
        Item::ArrayOfTables(a) => a.span(),
        Item::None => None,
    }
}

/// The deepest key whose key or value span contains `offset`.
pub fn path_at(doc: &ImDocument<String>, offset: usize) -> KeyPath {
    let mut path = KeyPath::default();
    descend(doc.as_item(), offset, &mut path);
    path
}

fn contains(span: Option<Range<usize>>, offset: usize) -> bool {
    span.is_some_and(|s| s.start <= offset && offset < s.end.max(s.start + 1))
}

fn descend(item: &Item, offset: usize, path: &mut KeyPath) -> bool {
    match item {
        Item::Table(t) => {
            for (key, child) in t.iter() {
                let key_span = t.key(key).and_then(|k| k.span());
                path.0.push(Seg::Key(key.to_string()));
                if descend(child, offset, path) || contains(key_span, offset) {
                    return true;
                }
                path.0.pop();
            }
            contains(t.span(), offset)
        }
        Item::ArrayOfTables(a) => {
            for (i, table) in a.iter().enumerate() {
                path.0.push(Seg::Index(i));
                for (key, child) in table.iter() {
                    let key_span = table.key(key).and_then(|k| k.span());
                    path.0.push(Seg::Key(key.to_string()));
                    if descend(child, offset, path) || contains(key_span, offset) {
                        return true;
                    }
                    path.0.pop();
                }
                if contains(table.span(), offset) {
                    return true;
                }
                path.0.pop();
            }
            false
        }
        Item::Value(v) => descend_value(v, offset, path),
        Item::None => false,
    }
}

fn descend_value(value: &Value, offset: usize, path: &mut KeyPath) -> bool {
    match value {
        Value::InlineTable(t) => {
            for (key, child) in t.iter() {
                let key_span = t.key(key).and_then(|k| k.span());
                path.0.push(Seg::Key(key.to_string()));
                if descend_value(child, offset, path) || contains(key_span, offset) {
                    return true;
                }
                path.0.pop();
            }
            contains(value.span(), offset)
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                path.0.push(Seg::Index(i));
                if descend_value(child, offset, path) {
                    return true;
                }
                path.0.pop();
            }
            contains(value.span(), offset)
        }
        _ => contains(value.span(), offset),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_by_offset_and_spans_by_path() {
        let text =
            "a = 1\n[[c]]\nid = \"x\"\n[[c]]\nid = \"y\"\nlist = [\"p\", \"q\"]\nt = { k = 2 }\n";
        let doc: ImDocument<String> = ImDocument::parse(text.to_string()).unwrap();
        let q = text.find("\"q\"").unwrap();
        assert_eq!(path_at(&doc, q).to_string(), "c[1].list[1]");
        let k = text.find("k = 2").unwrap() + 4;
        assert_eq!(path_at(&doc, k).to_string(), "c[1].t.k");
        let path = KeyPath::default().key("c").index(1).key("id");
        let span = span_of(&doc, &path).unwrap();
        assert_eq!(&text[span], "\"y\"");
        assert_eq!(line_col(text, text.find("\"y\"").unwrap()), (5, 6));
    }
}
