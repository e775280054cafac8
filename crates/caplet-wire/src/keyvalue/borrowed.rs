//! The key-value requests with borrowed strings.
//!
//! They encode to the same MessagePack as the owned requests in [`super`] (field names, order and
//! defaults; tested below), and decode from it without copying a key or value. A client that
//! holds `&str` sends them, and the provider, which only reads them, decodes them.

use serde::{Deserialize, Serialize};

/// [`super::SetRequest`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetRequest<'a> {
    /// The key.
    pub key: &'a str,
    /// The value.
    pub value: &'a str,
    /// Seconds until the key expires; 0 means never.
    #[serde(default)]
    pub expires: u32,
}

/// [`super::IncrementRequest`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncrementRequest<'a> {
    /// The key; a missing key counts from 0.
    pub key: &'a str,
    /// The amount to add (may be negative).
    pub value: i32,
}

/// [`super::ListAddRequest`] and [`super::ListDelRequest`] (the same fields), borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListItemRequest<'a> {
    /// The list.
    #[serde(rename = "listName")]
    pub list_name: &'a str,
    /// The value added or removed.
    pub value: &'a str,
}

/// [`super::ListRangeRequest`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRangeRequest<'a> {
    /// The list.
    #[serde(rename = "listName")]
    pub list_name: &'a str,
    /// First index, inclusive; negative counts from the end.
    pub start: i32,
    /// Last index, inclusive; negative counts from the end (-1 is the last).
    pub stop: i32,
}

/// [`super::SetAddRequest`] and [`super::SetDelRequest`] (the same fields), borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetItemRequest<'a> {
    /// The set.
    #[serde(rename = "setName")]
    pub set_name: &'a str,
    /// The member added or removed.
    pub value: &'a str,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::keyvalue as owned;
    use crate::{decode, encode};

    /// The borrowed request encodes as the owned one does, and decodes from both of the owned
    /// one's encodings (map and array).
    macro_rules! same {
        ($borrowed:expr, $owned:expr) => {{
            let owned = $owned;
            let (map, array) = (encode(&owned).unwrap(), rmp_serde::to_vec(&owned).unwrap());
            let borrowed = $borrowed;
            assert_eq!(encode(&borrowed).unwrap(), map);
            let (from_map, from_array) = (decode(&map).unwrap(), decode(&array).unwrap());
            assert_eq!(borrowed, from_map);
            assert_eq!(borrowed, from_array);
        }};
    }

    #[test]
    fn borrowed_requests_match_the_owned_ones() {
        let (key, value) = ("k\u{e9}y", "v");
        let (k, v) = (key.to_owned(), value.to_owned());
        same!(
            SetRequest {
                key,
                value,
                expires: 9
            },
            owned::SetRequest {
                key: k.clone(),
                value: v.clone(),
                expires: 9
            }
        );
        same!(
            IncrementRequest { key, value: -3 },
            owned::IncrementRequest {
                key: k.clone(),
                value: -3
            }
        );
        let item = ListItemRequest {
            list_name: key,
            value,
        };
        same!(
            item,
            owned::ListAddRequest {
                list_name: k.clone(),
                value: v.clone()
            }
        );
        same!(
            item,
            owned::ListDelRequest {
                list_name: k.clone(),
                value: v.clone()
            }
        );
        same!(
            ListRangeRequest {
                list_name: key,
                start: 1,
                stop: -1
            },
            owned::ListRangeRequest {
                list_name: k.clone(),
                start: 1,
                stop: -1
            }
        );
        let member = SetItemRequest {
            set_name: key,
            value,
        };
        same!(
            member,
            owned::SetAddRequest {
                set_name: k.clone(),
                value: v.clone()
            }
        );
        same!(
            member,
            owned::SetDelRequest {
                set_name: k,
                value: v
            }
        );
    }

    #[test]
    fn a_set_request_without_expiry_never_expires() {
        let bytes = encode(&BTreeMap::from([("key", "k"), ("value", "v")])).unwrap();
        let request: SetRequest = decode(&bytes).unwrap();
        assert_eq!((request.key, request.value, request.expires), ("k", "v", 0));
    }
}
