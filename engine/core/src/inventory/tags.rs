//! Tags: a resource's key-value map, kept small because an account has one per user, role and
//! policy, and every key, MFA device and login profile carries its owner's.
//!
//! A tag map is a sorted slice behind an `Arc`: cloning one (as normalization does for the owner
//! tags of 100,000 keys) copies a pointer, and a map costs its entries, not a B-tree node sized
//! for eleven. Maps read from JSON are *interned* per thread: the users of a team carry one
//! shared `{"team": "ops"}`, not a copy each, so a snapshot's tags cost what its distinct maps
//! hold. JSON, the JSON Schema and the fingerprint see an object with keys in sorted order,
//! exactly as the `BTreeMap` this replaces gave them.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// The entries, sorted by key, keys unique.
type Entries = Arc<[(String, String)]>;

/// Tags as AWS stores them: key to value. Shared, because the derived owner tags of keys,
/// devices, login profiles and inline policies are the owner's own map, not a copy of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Tags(TagList);

/// The sorted entries; a type of its own so the schema is that of a string map.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TagList(Entries);

impl Default for Tags {
    fn default() -> Tags {
        Tags(TagList(empty()))
    }
}

/// One empty map per thread, so `Tags::new()` allocates nothing after the first.
fn empty() -> Entries {
    thread_local! {
        static EMPTY: Entries = Arc::from(Vec::new());
    }
    EMPTY.with(Arc::clone)
}

impl Tags {
    /// No tags.
    pub fn new() -> Tags {
        Tags::default()
    }

    /// Sets a tag; the value it replaces, if any.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        let mut entries = self.0 .0.to_vec();
        let old = match entries.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(i) => entries
                .get_mut(i)
                .map(|slot| std::mem::replace(&mut slot.1, value)),
            Err(i) => {
                entries.insert(i, (key, value));
                None
            }
        };
        self.0 = TagList(Arc::from(entries));
        old
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&String> {
        let entries = &self.0 .0;
        let i = entries
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()?;
        entries.get(i).map(|(_, v)| v)
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&String, &String)> + '_ {
        self.0 .0.iter().map(|(k, v)| (k, v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &String> + '_ {
        self.0 .0.iter().map(|(k, _)| k)
    }

    /// How many tags.
    pub fn len(&self) -> usize {
        self.0 .0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0 .0.is_empty()
    }

    /// The tags as an owned map.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Whether `self` and `other` share their entries (one allocation, not equal copies).
    pub fn shares_with(&self, other: &Tags) -> bool {
        Arc::ptr_eq(&self.0 .0, &other.0 .0)
    }
}

impl<'a> IntoIterator for &'a Tags {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0 .0.iter().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(String, String)> for Tags {
    /// Later entries win over earlier ones with the same key, as in a map.
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Tags {
        Tags(TagList(intern(sorted(iter.into_iter().collect()))))
    }
}

impl From<BTreeMap<String, String>> for Tags {
    fn from(map: BTreeMap<String, String>) -> Tags {
        Tags(TagList(intern(map.into_iter().collect())))
    }
}

/// Sorts by key, keeping the last entry of each key (what inserting them in order into a map
/// keeps).
fn sorted(mut entries: Vec<(String, String)>) -> Vec<(String, String)> {
    // Stable: entries of one key stay in input order, so the last one is the one kept.
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<(String, String)> = Vec::with_capacity(entries.len());
    for e in entries {
        match out.last_mut() {
            Some(last) if last.0 == e.0 => *last = e,
            _ => out.push(e),
        }
    }
    out
}

/// Past this many distinct maps, a thread's interner starts afresh: an account whose every
/// map differs gains nothing from it, and the set must not grow without bound.
const INTERNED_MAX: usize = 4096;

thread_local! {
    static INTERNED: RefCell<HashSet<Entries>> = RefCell::new(HashSet::new());
}

/// The thread's shared copy of `entries`, interning them if they are new.
fn intern(entries: Vec<(String, String)>) -> Entries {
    if entries.is_empty() {
        return empty();
    }
    INTERNED.with(|set| {
        let mut set = set.borrow_mut();
        if let Some(shared) = set.get(entries.as_slice()) {
            return Arc::clone(shared);
        }
        if set.len() >= INTERNED_MAX {
            set.clear();
        }
        let shared: Entries = Arc::from(entries);
        set.insert(Arc::clone(&shared));
        shared
    })
}

/// Lets go of the maps this thread interned (they stay alive where they are used): a thread
/// that parsed a snapshot calls it when done, so the interner holds nothing between loads.
pub(crate) fn forget_interned() {
    INTERNED.with(|set| {
        let mut set = set.borrow_mut();
        set.clear();
        set.shrink_to_fit();
    });
}

impl Serialize for TagList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de> Deserialize<'de> for TagList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TagList, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = TagList;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of tag keys to string values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<TagList, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(entry) = map.next_entry::<String, String>()? {
                    entries.push(entry);
                }
                Ok(TagList(intern(sorted(entries))))
            }
        }
        d.deserialize_map(Visit)
    }
}

impl JsonSchema for TagList {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        BTreeMap::<String, String>::schema_name()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        BTreeMap::<String, String>::json_schema(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Tags {
        serde_json::from_str(text).expect("tags")
    }

    #[test]
    fn json_round_trips_as_a_sorted_map_with_the_last_duplicate_winning() {
        let cases = [
            ("{}", "{}"),
            (r#"{"b":"2","a":"1"}"#, r#"{"a":"1","b":"2"}"#),
            (r#"{"a":"1","a":"2"}"#, r#"{"a":"2"}"#),
            (
                r#"{"Z":"1","a":"2","A":"3"}"#,
                r#"{"A":"3","Z":"1","a":"2"}"#,
            ),
        ];
        for (input, want) in cases {
            let tags = parse(input);
            assert_eq!(serde_json::to_string(&tags).expect("json"), want, "{input}");
            // The map this type replaces reads and writes the same JSON.
            let map: BTreeMap<String, String> = serde_json::from_str(input).expect("map");
            assert_eq!(serde_json::to_string(&map).expect("json"), want, "{input}");
            assert_eq!(tags, Tags::from(map), "{input}");
        }
        assert!(serde_json::from_str::<Tags>(r#"{"a": 1}"#).is_err());
        assert!(serde_json::from_str::<Tags>(r#"["a"]"#).is_err());
    }

    #[test]
    fn equal_maps_read_on_one_thread_share_one_allocation() {
        let a = parse(r#"{"team":"ops","x":"1"}"#);
        let b = parse(r#"{"x":"1","team":"ops"}"#);
        let c = parse(r#"{"team":"dev"}"#);
        assert!(a.shares_with(&b));
        assert!(!a.shares_with(&c));
        assert_eq!(a, b);
        forget_interned();
        let d = parse(r#"{"team":"ops","x":"1"}"#);
        assert!(
            !a.shares_with(&d),
            "forgotten maps are not handed out again"
        );
        assert_eq!(a, d);
    }

    #[test]
    fn insert_get_and_iterate_behave_as_a_map() {
        let mut shared = parse(r#"{"team":"ops"}"#);
        let other = shared.clone();
        assert_eq!(shared.insert("b".into(), "1".into()), None);
        assert_eq!(
            shared.insert("team".into(), "dev".into()),
            Some("ops".into())
        );
        assert_eq!(
            other.get("team").map(String::as_str),
            Some("ops"),
            "copy on write"
        );
        assert_eq!(shared.get("team").map(String::as_str), Some("dev"));
        assert!(shared.contains_key("b") && !shared.contains_key("c"));
        let keys: Vec<&String> = shared.keys().collect();
        assert_eq!(keys, ["b", "team"]);
        assert_eq!(shared.len(), 2);
        assert!(Tags::new().is_empty());
        let collected: Tags = [
            ("k".to_string(), "1".to_string()),
            ("k".to_string(), "2".to_string()),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            collected.to_map(),
            BTreeMap::from([("k".to_string(), "2".to_string())])
        );
    }

    #[test]
    fn the_interner_stays_bounded() {
        let many: Vec<Tags> = (0..INTERNED_MAX + 10)
            .map(|i| parse(&format!(r#"{{"n":"{i}"}}"#)))
            .collect();
        let size = INTERNED.with(|s| s.borrow().len());
        assert!(size <= INTERNED_MAX, "{size}");
        assert_eq!(
            many.last().and_then(|t| t.get("n")).map(String::as_str),
            Some("4105")
        );
        forget_interned();
    }
}
