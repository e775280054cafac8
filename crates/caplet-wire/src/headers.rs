//! HTTP header maps. The wasmbus interfaces carry `{name: [values]}`; wasmCloud 0.18 and waSCC
//! carried `{name: value}`. [`HeaderMap`] encodes the list form and decodes either.

use std::collections::HashMap;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Header name → values, in the order received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderMap(pub HashMap<String, Vec<String>>);

impl HeaderMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `value` to the values of `name`.
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.entry(name.into()).or_default().push(value.into());
    }

    /// The first value of `name`, compared case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .and_then(|(_, values)| values.first())
            .map(String::as_str)
    }

    /// Every (name, value) pair.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().flat_map(|(name, values)| {
            values
                .iter()
                .map(move |value| (name.as_str(), value.as_str()))
        })
    }

    /// True when there is no header.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for HeaderMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for HeaderMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(HeaderMapVisitor)
    }
}

struct HeaderMapVisitor;

impl<'de> Visitor<'de> for HeaderMapVisitor {
    type Value = HeaderMap;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a map of header names to a string or a list of strings")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeaderMap, A::Error> {
        let mut headers = HashMap::new();
        while let Some((name, values)) = map.next_entry::<String, OneOrMany>()? {
            headers.insert(name, values.0);
        }
        Ok(HeaderMap(headers))
    }

    fn visit_unit<E>(self) -> Result<HeaderMap, E> {
        Ok(HeaderMap::default())
    }
}

struct OneOrMany(Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor;
        impl<'de> Visitor<'de> for OneOrManyVisitor {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![value.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut values = Vec::new();
                while let Some(value) = seq.next_element::<String>()? {
                    values.push(value);
                }
                Ok(OneOrMany(values))
            }
        }
        deserializer.deserialize_any(OneOrManyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_single_values_and_lists() {
        let single: HashMap<&str, &str> = [("Content-Type", "text/plain")].into();
        let decoded: HeaderMap = crate::decode(&crate::encode(&single).unwrap()).unwrap();
        assert_eq!(decoded.get("content-type"), Some("text/plain"));
        let mut many = HeaderMap::new();
        many.append("x-a", "1");
        many.append("x-a", "2");
        let decoded: HeaderMap = crate::decode(&crate::encode(&many).unwrap()).unwrap();
        assert_eq!(decoded, many);
        assert_eq!(decoded.iter().count(), 2);
    }
}
