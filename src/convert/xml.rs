//! The XML → JSON conversion (`dengbao-xml/1`), used for EC2 (EC2 query protocol), IAM, STS, RDS,
//! SNS (AWS query protocol) and S3 (REST-XML) bodies.
//!
//! Rules, applied to the root element's content (the root element itself is dropped, so EC2's
//! `<DescribeVpcsResponse><vpcSet>…` becomes `{"vpcSet": […]}`):
//!
//! 1. An element with child elements becomes an object keyed by child name.
//! 2. An element whose children are all named `item`, `member` or `entry` is a list wrapper and
//!    becomes an array of its converted children (EC2 `<groupSet><item>`, query `<Users><member>`,
//!    IAM `<SummaryMap><entry>`).
//! 3. A child name that occurs more than once under one parent becomes an array. So does a
//!    *structured* child (one with child elements) whose name is listed in [`ALWAYS_LIST_ELEMENTS`]
//!    (S3's flattened and wrapped lists), even when it occurs once, so rules can always write
//!    `$.Rule[*]`; a text-only element of such a name (the ARN in `<Destination><Bucket>`) stays a string.
//! 4. An element without child elements becomes its text, entity-decoded, as a JSON **string**
//!    (numbers and booleans stay strings: `"22"`, `"true"`; the rule language compares them by value).
//!    An empty element named `…Set` (EC2's empty list) becomes `[]`; any other empty element `""`.
//! 5. Attributes other than namespace declarations become `"@name"` keys; an element with attributes
//!    and text keeps the text under `"#text"`.
//!
//! Namespace prefixes are stripped from element names.
//!
//! Elements may nest at most [`MAX_DOCUMENT_DEPTH`] deep; a deeper body is an error naming the limit.
//! Open elements are kept on an explicit stack, never the call stack.

use super::ListWatch;
use crate::limits::MAX_DOCUMENT_DEPTH;
use serde_json::{Map, Value};

/// Identifier of this conversion; recorded in results so a reader knows how documents were derived.
pub const XML_CONVERSION: &str = "dengbao-xml/1";

/// Element names that are always lists, because S3 writes them flattened (repeated without a wrapper)
/// or wrapped by a plural parent, and RDS wraps its list members in singular names.
pub const ALWAYS_LIST_ELEMENTS: &[&str] = &[
    "Bucket",
    "Rule",
    "Transition",
    "NoncurrentVersionTransition",
    "Grant",
    "Tag",
    "CORSRule",
    "Contents",
    "CommonPrefixes",
    "Version",
    "DeleteMarker",
    "TopicConfiguration",
    "QueueConfiguration",
    "CloudFunctionConfiguration",
    // RDS (query protocol) wraps list members in singular names rather than <member>.
    "DBInstance",
    "DBSnapshot",
    "DBInstanceAutomatedBackup",
    "DBInstanceAutomatedBackupsReplication",
    "DBSecurityGroupMembership",
    "VpcSecurityGroupMembership",
    "DBParameterGroup",
    "OptionGroupMembership",
    "DBSubnetGroup",
    "Subnet",
];

const WRAPPED_ITEM_NAMES: &[&str] = &["item", "member", "entry"];

/// An element being read: its converted children so far (name, value, whether the child had child
/// elements) and its text. Elements are converted as they close, so a document is never held twice
/// (as a tree of elements and as JSON).
struct Frame {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<(String, Value, bool)>,
    text: String,
}

/// Converts an XML document to JSON by the rules above.
pub fn xml_to_json(bytes: &[u8]) -> Result<Value, String> {
    xml_to_json_watching(bytes, None)
}

/// As [`xml_to_json`], showing `watch` the items of its list as they are converted.
pub fn xml_to_json_watching(
    bytes: &[u8],
    mut watch: Option<ListWatch<'_>>,
) -> Result<Value, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(bytes);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Value> = None;
    let open = |e: &quick_xml::events::BytesStart| -> Result<Frame, String> {
        let mut attrs = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|e| e.to_string())?;
            let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
            if key == "xmlns" || key.starts_with("xmlns:") {
                continue;
            }
            let val = a.unescape_value().map_err(|e| e.to_string())?.into_owned();
            attrs.push((local_name(key.as_bytes()), val));
        }
        Ok(Frame {
            name: local_name(e.name().as_ref()),
            attrs,
            children: Vec::new(),
            text: String::new(),
        })
    };
    // A closed element goes to its parent, or is the root.
    let mut close = |stack: &mut Vec<Frame>, root: &mut Option<Value>, frame: Frame| {
        let (name, mut value, had_children) = finish(frame);
        if let Some(w) = watch.as_mut() {
            if stack.len() == w.path.len() + 1
                && WRAPPED_ITEM_NAMES.contains(&name.as_str())
                && stack[1..].iter().zip(w.path).all(|(f, p)| f.name == *p)
                && !(w.on_item)(stack[stack.len() - 1].children.len(), &value)
            {
                // Not kept: `null`, which no element converts to, holds its place.
                value = Value::Null;
            }
        }
        match stack.last_mut() {
            Some(parent) => {
                parent.text.clear(); // text beside child elements is not kept
                parent.children.push((name, value, had_children));
            }
            None => *root = Some(value),
        }
    };
    loop {
        let pos = reader.buffer_position();
        match reader.read_event() {
            Err(e) => return Err(format!("at byte {pos}: {e}")),
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => {
                if stack.len() >= MAX_DOCUMENT_DEPTH {
                    return Err(format!(
                        "at byte {pos}: elements nested deeper than {MAX_DOCUMENT_DEPTH} (the limit MAX_DOCUMENT_DEPTH)"
                    ));
                }
                stack.push(open(&e)?)
            }
            Ok(Event::Empty(e)) => {
                let frame = open(&e)?;
                close(&mut stack, &mut root, frame);
            }
            Ok(Event::End(_)) => {
                let frame = stack
                    .pop()
                    .ok_or_else(|| format!("at byte {pos}: unexpected closing tag"))?;
                close(&mut stack, &mut root, frame);
            }
            Ok(Event::Text(t)) => {
                if let Some(top) = stack.last_mut() {
                    let raw = String::from_utf8_lossy(t.as_ref());
                    let text = quick_xml::escape::unescape(&raw)
                        .map_err(|e| format!("at byte {pos}: {e}"))?;
                    if top.children.is_empty() {
                        top.text.push_str(&text);
                    }
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some(top) = stack.last_mut() {
                    let name = String::from_utf8_lossy(r.as_ref()).into_owned();
                    let entity = format!("&{name};");
                    let decoded = quick_xml::escape::unescape(&entity)
                        .map_err(|e| format!("at byte {pos}: {e}"))?;
                    if top.children.is_empty() {
                        top.text.push_str(&decoded);
                    }
                }
            }
            Ok(Event::CData(t)) => {
                if let Some(top) = stack.last_mut() {
                    if top.children.is_empty() {
                        top.text.push_str(&String::from_utf8_lossy(t.as_ref()));
                    }
                }
            }
            Ok(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(format!(
            "unclosed element <{}>",
            stack.last().map(|e| e.name.as_str()).unwrap_or("")
        ));
    }
    root.ok_or_else(|| "no root element".to_string())
}

fn local_name(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    match s.rsplit_once(':') {
        Some((_, local)) => local.to_string(),
        None => s.into_owned(),
    }
}

/// The JSON of a closed element (rules 1-5), with its name and whether it had child elements.
fn finish(frame: Frame) -> (String, Value, bool) {
    let Frame {
        name,
        attrs,
        children,
        text,
    } = frame;
    if children.is_empty() {
        let blank = text.trim().is_empty();
        if blank && attrs.is_empty() && name.ends_with("Set") {
            return (name, Value::Array(Vec::new()), false);
        }
        let text = if blank { String::new() } else { text };
        if attrs.is_empty() {
            return (name, Value::String(text), false);
        }
        let mut m = attr_map(attrs);
        if !text.is_empty() {
            m.insert("#text".into(), Value::String(text));
        }
        return (name, Value::Object(m), false);
    }
    if attrs.is_empty()
        && WRAPPED_ITEM_NAMES.contains(&children[0].0.as_str())
        && children.iter().all(|c| c.0 == children[0].0)
    {
        let list = children.into_iter().map(|(_, v, _)| v).collect();
        return (name, Value::Array(list), true);
    }
    // Which names occur more than once among the children.
    let repeated: Vec<bool> = if children.len() <= 32 {
        children
            .iter()
            .map(|c| children.iter().filter(|o| o.0 == c.0).count() > 1)
            .collect()
    } else {
        let mut counts: std::collections::HashMap<&str, usize> = Default::default();
        for c in &children {
            *counts.entry(c.0.as_str()).or_default() += 1;
        }
        children.iter().map(|c| counts[c.0.as_str()] > 1).collect()
    };
    let mut m = attr_map(attrs);
    for ((child, v, had_children), repeated) in children.into_iter().zip(repeated) {
        let as_list = repeated || (had_children && ALWAYS_LIST_ELEMENTS.contains(&child.as_str()));
        if as_list {
            match m.entry(child).or_insert_with(|| Value::Array(Vec::new())) {
                Value::Array(a) => a.push(v),
                other => *other = Value::Array(vec![other.take(), v]),
            }
        } else {
            m.insert(child, v);
        }
    }
    (name, Value::Object(m), true)
}

fn attr_map(attrs: Vec<(String, String)>) -> Map<String, Value> {
    attrs
        .into_iter()
        .map(|(k, v)| (format!("@{k}"), Value::String(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ec2_item_sets_become_arrays_and_root_is_dropped() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r-1</requestId>
  <securityGroupInfo>
    <item><groupId>sg-1</groupId><ipPermissions><item><fromPort>22</fromPort>
      <ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges/></item></ipPermissions>
      <tagSet/></item>
  </securityGroupInfo>
</DescribeSecurityGroupsResponse>"#;
        let v = xml_to_json(xml).unwrap();
        assert_eq!(
            v,
            json!({"requestId":"r-1","securityGroupInfo":[{"groupId":"sg-1","ipPermissions":[{"fromPort":"22",
              "ipRanges":[{"cidrIp":"0.0.0.0/0"}],"ipv6Ranges":""}],"tagSet":[]}]})
        );
    }

    #[test]
    fn query_members_entries_and_s3_flattened_lists() {
        let v = xml_to_json(b"<R><Res><SummaryMap><entry><key>Users</key><value>6</value></entry></SummaryMap></Res></R>").unwrap();
        assert_eq!(
            v,
            json!({"Res":{"SummaryMap":[{"key":"Users","value":"6"}]}})
        );
        let v = xml_to_json(b"<ReplicationConfiguration><Role>r</Role><Rule><ID>a</ID><Destination><Bucket>arn</Bucket></Destination></Rule></ReplicationConfiguration>").unwrap();
        assert_eq!(
            v,
            json!({"Role":"r","Rule":[{"ID":"a","Destination":{"Bucket":"arn"}}]})
        );
        let v = xml_to_json(b"<X><a>1</a><a>2</a><b>&amp;&lt;</b></X>").unwrap();
        assert_eq!(v, json!({"a":["1","2"],"b":"&<"}));
    }

    #[test]
    fn attributes_and_namespaces() {
        let v = xml_to_json(br#"<X xmlns:xsi="u"><Grantee xsi:type="Group"><URI>u</URI></Grantee><n a="1">t</n></X>"#).unwrap();
        assert_eq!(
            v,
            json!({"Grantee":{"@type":"Group","URI":"u"},"n":{"@a":"1","#text":"t"}})
        );
    }

    #[test]
    fn broken_xml_is_an_error() {
        assert!(xml_to_json(b"<a><b></a>").is_err());
        assert!(xml_to_json(b"").is_err());
    }
}
