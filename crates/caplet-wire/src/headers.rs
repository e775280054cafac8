//! HTTP header maps. The wasmbus interfaces carry `{name: [values]}`; wasmCloud 0.18 and waSCC
//! carried `{name: value}`. [`HeaderMap`] encodes the list form and decodes either.

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Header name → values, in the order received.
///
/// A list of entries, not a hash map: requests carry a handful of headers, so a linear scan
/// is faster than hashing every name (SipHash, in a guest, on every request), and the order
/// the client sent is kept. [`HeaderMap::append`] adds to an existing entry, so a map built
/// with it has unique names; a decoded map keeps whatever entries the message had.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderMap(Vec<(String, Vec<String>)>);

impl HeaderMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `names` distinct names.
    pub fn with_capacity(names: usize) -> Self {
        Self(Vec::with_capacity(names))
    }

    /// Appends `value` to the values of `name` (compared exactly, as sent on the wire).
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        match self.0.iter_mut().find(|(key, _)| *key == name) {
            Some((_, values)) => values.push(value),
            None => self.0.push((name, vec![value])),
        }
    }

    /// Sets the values of `name`, replacing any it had.
    pub fn insert(&mut self, name: impl Into<String>, values: Vec<String>) {
        let name = name.into();
        match self.0.iter_mut().find(|(key, _)| *key == name) {
            Some((_, old)) => *old = values,
            None => self.0.push((name, values)),
        }
    }

    /// Adds an entry without looking for `name` first (decoders: linear, whatever the sender
    /// chose to repeat).
    pub(crate) fn push(&mut self, name: String, values: Vec<String>) {
        self.0.push((name, values));
    }

    /// The first value of `name`, compared case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).first().map(String::as_str)
    }

    /// Every value of `name`, compared case-insensitively; empty when it is absent.
    pub fn get_all(&self, name: &str) -> &[String] {
        self.0
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map_or(&[], |(_, values)| values.as_slice())
    }

    /// Every (name, value) pair.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().flat_map(|(name, values)| {
            values
                .iter()
                .map(move |value| (name.as_str(), value.as_str()))
        })
    }

    /// Every name with its values, in order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0
            .iter()
            .map(|(name, values)| (name.as_str(), values.as_slice()))
    }

    /// Number of distinct names.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is no header.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl IntoIterator for HeaderMap {
    type Item = (String, Vec<String>);
    type IntoIter = std::vec::IntoIter<(String, Vec<String>)>;

    /// Every name with its values, in order.
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<N: Into<String>, V: Into<String>> FromIterator<(N, V)> for HeaderMap {
    /// Collects (name, value) pairs, gathering the values of a repeated name.
    fn from_iter<I: IntoIterator<Item = (N, V)>>(pairs: I) -> Self {
        let mut map = Self::new();
        for (name, value) in pairs {
            map.append(name, value);
        }
        map
    }
}

impl Serialize for HeaderMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, values) in &self.0 {
            map.serialize_entry(name, values)?;
        }
        map.end()
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
        let mut headers = HeaderMap::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some((name, values)) = map.next_entry::<String, OneOrMany>()? {
            // Pushed as they come: checking for a repeated name would make decoding quadratic
            // in the number of headers, which an untrusted sender chooses. A name repeated in
            // the message stays two entries, and both are kept.
            headers.push(name, values.0);
        }
        Ok(headers)
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
        let single: std::collections::HashMap<&str, &str> = [("Content-Type", "text/plain")].into();
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
