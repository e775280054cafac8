//! `wasmcloud:keyvalue`, as the wasmbus interface (`keyvalue.smithy` 0.1.1) defines it.
//!
//! Operations are `KeyValue.<Op>`. Inputs that are a bare key are a MessagePack string, not a
//! struct; outputs that are a count or a flag are a bare integer or boolean. [`legacy`] holds the
//! waSCC / wasmCloud 0.18 operations (`Get`, `Add`, `Push`, ...) with their `*Args` messages.

use serde::{Deserialize, Serialize};

pub mod borrowed;

/// `KeyValue.Get`: input the key (string), output [`GetResponse`].
pub const GET: &str = "KeyValue.Get";
/// `KeyValue.Set`: input [`SetRequest`], no output.
pub const SET: &str = "KeyValue.Set";
/// `KeyValue.Del`: input the key, output `bool` (true when it existed).
pub const DEL: &str = "KeyValue.Del";
/// `KeyValue.Increment`: input [`IncrementRequest`], output the new value (`i32`). Atomic.
pub const INCREMENT: &str = "KeyValue.Increment";
/// `KeyValue.Contains`: input the key, output `bool`.
pub const CONTAINS: &str = "KeyValue.Contains";
/// `KeyValue.ListAdd`: input [`ListAddRequest`], output the new length (`u32`).
pub const LIST_ADD: &str = "KeyValue.ListAdd";
/// `KeyValue.ListClear`: input the list name, output `bool` (true when it existed).
pub const LIST_CLEAR: &str = "KeyValue.ListClear";
/// `KeyValue.ListDel`: input [`ListDelRequest`], output `bool` (true when a value was removed).
pub const LIST_DEL: &str = "KeyValue.ListDel";
/// `KeyValue.ListRange`: input [`ListRangeRequest`] (inclusive, negative from the end), output
/// `Vec<String>`.
pub const LIST_RANGE: &str = "KeyValue.ListRange";
/// `KeyValue.SetAdd`: input [`SetAddRequest`], output the number of values added (`u32`).
pub const SET_ADD: &str = "KeyValue.SetAdd";
/// `KeyValue.SetDel`: input [`SetDelRequest`], output the number of values removed (`u32`).
pub const SET_DEL: &str = "KeyValue.SetDel";
/// `KeyValue.SetUnion`: input the set names (`Vec<String>`), output the members.
pub const SET_UNION: &str = "KeyValue.SetUnion";
/// `KeyValue.SetIntersection`: input the set names, output the members.
pub const SET_INTERSECTION: &str = "KeyValue.SetIntersection";
/// `KeyValue.SetQuery`: input the set name, output its members.
pub const SET_QUERY: &str = "KeyValue.SetQuery";
/// `KeyValue.SetClear`: input the set name, output `bool` (true when it existed).
pub const SET_CLEAR: &str = "KeyValue.SetClear";

/// The output of `Get` (and of the legacy `KeyExists`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetResponse {
    /// The value, empty when the key does not exist.
    #[serde(default)]
    pub value: String,
    /// Whether the key exists.
    pub exists: bool,
}

/// The input of `Set`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetRequest {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
    /// Seconds until the key expires; 0 means never.
    #[serde(default)]
    pub expires: u32,
}

/// The input of `Increment`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncrementRequest {
    /// The key; a missing key counts from 0.
    pub key: String,
    /// The amount to add (may be negative).
    pub value: i32,
}

/// The input of `ListAdd`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListAddRequest {
    /// The list.
    #[serde(rename = "listName")]
    pub list_name: String,
    /// The value appended.
    pub value: String,
}

/// The input of `ListDel`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListDelRequest {
    /// The list.
    #[serde(rename = "listName")]
    pub list_name: String,
    /// The value removed (every occurrence).
    pub value: String,
}

/// The input of `ListRange`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRangeRequest {
    /// The list.
    #[serde(rename = "listName")]
    pub list_name: String,
    /// First index, inclusive; negative counts from the end.
    pub start: i32,
    /// Last index, inclusive; negative counts from the end (-1 is the last).
    pub stop: i32,
}

/// The input of `SetAdd`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetAddRequest {
    /// The set.
    #[serde(rename = "setName")]
    pub set_name: String,
    /// The member added.
    pub value: String,
}

/// The input of `SetDel`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetDelRequest {
    /// The set.
    #[serde(rename = "setName")]
    pub set_name: String,
    /// The member removed.
    pub value: String,
}

/// waSCC (`wascc:keyvalue`) and wasmCloud 0.15–0.18 operations, kept so older actors run.
/// Field names are camelCase except `SetOperationResponse.new_count`, as those versions wrote.
pub mod legacy {
    use serde::{Deserialize, Serialize};

    /// `Get`: [`KeyArgs`] → [`super::GetResponse`].
    pub const GET: &str = "Get";
    /// `Set`: [`SetArgs`] → [`SetResponse`].
    pub const SET: &str = "Set";
    /// `Add`: [`AddArgs`] → [`AddResponse`] (atomic increment).
    pub const ADD: &str = "Add";
    /// `Del`: [`KeyArgs`] → [`DelResponse`].
    pub const DEL: &str = "Del";
    /// `Clear`: [`KeyArgs`] (a list) → [`DelResponse`].
    pub const CLEAR: &str = "Clear";
    /// `Range`: [`RangeArgs`] → [`ListRangeResponse`].
    pub const RANGE: &str = "Range";
    /// `Push`: [`KeyValueArgs`] → [`ListResponse`].
    pub const PUSH: &str = "Push";
    /// `ListItemDelete`: [`KeyValueArgs`] → [`ListResponse`].
    pub const LIST_ITEM_DELETE: &str = "ListItemDelete";
    /// `SetAdd`: [`KeyValueArgs`] → [`SetOperationResponse`].
    pub const SET_ADD: &str = "SetAdd";
    /// `SetRemove`: [`KeyValueArgs`] → [`SetOperationResponse`].
    pub const SET_REMOVE: &str = "SetRemove";
    /// `SetUnion`: [`KeysArgs`] → [`SetQueryResponse`].
    pub const SET_UNION: &str = "SetUnion";
    /// `SetIntersection`: [`KeysArgs`] → [`SetQueryResponse`].
    pub const SET_INTERSECTION: &str = "SetIntersection";
    /// `SetQuery`: [`KeyArgs`] → [`SetQueryResponse`].
    pub const SET_QUERY: &str = "SetQuery";
    /// `KeyExists`: [`KeyArgs`] → [`super::GetResponse`].
    pub const KEY_EXISTS: &str = "KeyExists";

    /// `GetArgs`, `DelArgs`, `ClearArgs`, `SetQueryArgs`, `KeyExistsArgs`: just a key.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct KeyArgs {
        /// The key.
        pub key: String,
    }

    /// `SetArgs` (waSCC `SetRequest`).
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct SetArgs {
        /// The key.
        pub key: String,
        /// The value.
        pub value: String,
        /// Seconds until expiry; 0 (or negative) means never.
        #[serde(default)]
        pub expires: i32,
    }

    /// `AddArgs`.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct AddArgs {
        /// The key.
        pub key: String,
        /// The amount added.
        pub value: i32,
    }

    /// `PushArgs`, `ListItemDeleteArgs`, `SetAddArgs`, `SetRemoveArgs`.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct KeyValueArgs {
        /// The list or set.
        pub key: String,
        /// The value.
        pub value: String,
    }

    /// `RangeArgs`.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct RangeArgs {
        /// The list.
        pub key: String,
        /// First index, inclusive.
        pub start: i32,
        /// Last index, inclusive.
        pub stop: i32,
    }

    /// `SetUnionArgs`, `SetIntersectionArgs`.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct KeysArgs {
        /// The sets.
        pub keys: Vec<String>,
    }

    /// The output of `Set`.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct SetResponse {
        /// The value stored.
        pub value: String,
    }

    /// The output of `Add`.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct AddResponse {
        /// The new value.
        pub value: i32,
    }

    /// The output of `Del` and `Clear`.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct DelResponse {
        /// The key deleted.
        pub key: String,
    }

    /// The output of `Range`.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ListRangeResponse {
        /// The values in the range.
        pub values: Vec<String>,
    }

    /// The output of `Push` and `ListItemDelete`.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ListResponse {
        /// The list's new length.
        #[serde(rename = "newCount")]
        pub new_count: i32,
    }

    /// The output of `SetAdd` and `SetRemove` (snake case, as wasmCloud 0.18 wrote it).
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct SetOperationResponse {
        /// The set's new size.
        pub new_count: i32,
    }

    /// The output of `SetUnion`, `SetIntersection` and `SetQuery`.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct SetQueryResponse {
        /// The members.
        pub values: Vec<String>,
    }
}
